FROM scratch AS build
COPY bin/ /bin/
COPY hello.txt /src/hello.txt
RUN cp /src/hello.txt /out.txt
FROM scratch
COPY bin/ /bin/
COPY --from=build /out.txt /out.txt
USER 1000
CMD ["/bin/sh", "-c", "cat /out.txt"]
