// sqlver: reports the SQLite library it links against and runs a query in memory (cgo).
package main

// #cgo LDFLAGS: -lsqlite3
// #include <sqlite3.h>
// #include <stdlib.h>
//
// static int count_rows(void) {
//     sqlite3 *db;
//     int n = -1;
//     if (sqlite3_open(":memory:", &db) != SQLITE_OK) return -1;
//     sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1),(2),(3);", 0, 0, 0);
//     sqlite3_stmt *st;
//     if (sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &st, 0) == SQLITE_OK) {
//         if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int(st, 0);
//         sqlite3_finalize(st);
//     }
//     sqlite3_close(db);
//     return n;
// }
import "C"

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	selftest := flag.Bool("selftest", false, "run a query in memory and exit")
	flag.Parse()
	version := C.GoString(C.sqlite3_libversion())
	if *selftest {
		rows := int(C.count_rows())
		if rows != 3 {
			fmt.Fprintln(os.Stderr, "selftest failed: rows =", rows)
			os.Exit(1)
		}
		fmt.Printf("selftest ok: sqlite %s, %d rows\n", version, rows)
		return
	}
	fmt.Println("sqlite", version)
}
