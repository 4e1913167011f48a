# The InstaDeploy agent as a container image. Built by eng/docker/build-images.sh, whose build context is the agent
# published self-contained with its built-in plugins (app/).
#
# The agent runs `docker compose` against the HOST's engine through its socket, mounted into the container. That is a
# deliberate choice with a cost: whoever controls this container (or the control plane that sends it commands) is root
# on the host, exactly as with the agent installed as a systemd service. The projects folder must be mounted at the
# same path inside and outside, because compose resolves relative bind mounts and env_file inside the container and
# the host's engine then reads those paths on the host.
#
#   docker run -d --name instadeploy-agent --restart unless-stopped --hostname web-01 \
#     -v /var/run/docker.sock:/var/run/docker.sock \
#     -v /var/lib/instadeploy-agent:/var/lib/instadeploy-agent \
#     -e SERVER_URL=wss://deploy.example.com/ws -e AGENT_ENROLLMENT_TOKEN=... instadeploy/agent:dev
#
# See docs/DEPLOYMENT.md.
ARG BASE=debian:12-slim

# The Docker CLI alone. Debian 12 ships it inside docker.io together with the engine (dockerd, containerd, runc:
# ~250 MB this image never runs), so the package is downloaded and only /usr/bin/docker is kept. On Debian 13, pass
# --build-arg DOCKER_CLI_PACKAGE=docker-cli.
FROM ${BASE} AS docker-cli
ARG DOCKER_CLI_PACKAGE=docker.io
RUN apt-get update \
 && cd /tmp && apt-get download "${DOCKER_CLI_PACKAGE}" \
 && dpkg-deb -x /tmp/*.deb /tmp/cli && test -x /tmp/cli/usr/bin/docker

FROM ${BASE}
# Compose from the distribution: docker-compose v1 on Debian 12 (the agent prefers `docker compose` v2 and falls back
# to it), v2 on Debian 13.
ARG COMPOSE_PACKAGE=docker-compose
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates libssl3 "${COMPOSE_PACKAGE}" \
 && rm -rf /var/lib/apt/lists/*
COPY --from=docker-cli /tmp/cli/usr/bin/docker /usr/bin/docker

COPY app/ /opt/instadeploy/agent/

ENV PATH=/opt/instadeploy/agent:$PATH \
    DOTNET_ENVIRONMENT=Production \
    AGENT_PROJECTS_DIR=/var/lib/instadeploy-agent/projects \
    AGENT_STATE_DIR=/var/lib/instadeploy-agent/state

# Root in the container: access to the Docker socket is root on the host anyway, so an unprivileged user here would
# protect nothing and only add the socket's group id and the projects folder's owner to get right.
WORKDIR /var/lib/instadeploy-agent
VOLUME ["/var/lib/instadeploy-agent"]
ENTRYPOINT ["/opt/instadeploy/agent/InstaDeploy.Agent"]
