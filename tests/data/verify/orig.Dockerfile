FROM scratch
COPY bin/ /bin/
ADD hello.txt /hello.txt
RUN echo built > /built.txt && mkdir -p /var/cache/apt && echo x > /var/cache/apt/junk
RUN ls -la /
USER 1000
CMD ["/bin/sh", "-c", "cat /hello.txt"]
