# The InstaDeploy control plane as a container image. Built by eng/docker/build-images.sh, whose build context is the
# control plane published self-contained (app/): no .NET runtime in the image, and no SDK needed to build it.
#
#   bash eng/docker/build-images.sh                  # FROM debian:12-slim (the default BASE)
#   docker run -d --name instadeploy -p 8000:8000 -v instadeploy-data:/var/lib/instadeploy \
#     -e AGENT_SECRET_TOKEN=... -e INSTADEPLOY_ADMIN_API_KEY=... instadeploy/control-plane:dev
#
# BASE is any Debian 12 or 13 image; CI builds one with debootstrap (eng/docker/build-base-image.sh), as no registry
# is reachable there. See docs/DEPLOYMENT.md.
ARG BASE=debian:12-slim
FROM ${BASE}

# The app is self-contained and culture-invariant: it needs only OpenSSL (TLS: Kestrel's HTTPS, OTLP over https) and
# the CA certificates, besides the C libraries every Debian has.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates libssl3 \
 && rm -rf /var/lib/apt/lists/*

# Its own unprivileged user and group, both 10001 (for the owner of folders mounted from the host); the data folder
# (database and key ring) is owner-only.
RUN groupadd --system --gid 10001 instadeploy \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/instadeploy --no-create-home --shell /usr/sbin/nologin instadeploy \
 && install -d -o instadeploy -g instadeploy -m 0700 /var/lib/instadeploy /var/lib/instadeploy/keys /var/backups/instadeploy

COPY app/ /opt/instadeploy/control-plane/

ENV PATH=/opt/instadeploy/control-plane:$PATH \
    ASPNETCORE_URLS=http://+:8000 \
    DOTNET_ENVIRONMENT=Production \
    INSTADEPLOY_DATA_DIR=/var/lib/instadeploy \
    INSTADEPLOY_KEY_RING_DIR=/var/lib/instadeploy/keys

USER instadeploy
WORKDIR /var/lib/instadeploy
VOLUME ["/var/lib/instadeploy"]
EXPOSE 8000
# /alive answers once the app runs (it needs no API key); curl is not in the image, so the app's own port is probed by bash.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8000 && printf 'GET /alive HTTP/1.0\\r\\n\\r\\n' >&3 && head -1 <&3 | grep -q ' 200 '"]
# Backups from outside: docker exec instadeploy InstaDeploy.ControlPlane backup --to /var/backups/instadeploy
ENTRYPOINT ["/opt/instadeploy/control-plane/InstaDeploy.ControlPlane"]
