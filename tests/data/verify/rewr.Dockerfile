FROM scratch
COPY bin/ /bin/
COPY hello.txt /hello.txt
RUN echo built > /built.txt && ls -la / >/dev/null
USER 1000
CMD ["/bin/sh", "-c", "cat /hello.txt"]
