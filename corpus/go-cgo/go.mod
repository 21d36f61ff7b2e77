module example.com/sqlver

go 1.19
