namespace InstaDeploy.Testing;

/// <summary>Compose files the Docker tests deploy, all on the locally built example image.</summary>
public static class TestComposeFiles
{
    /// <summary>
    /// A deploy that takes a few seconds and prints progress on the way: "web" starts only once "slow" reports
    /// healthy, <paramref name="readyAfterSeconds"/> after it started.
    /// </summary>
    public static string Slow(int readyAfterSeconds = 4) => $$"""
        services:
          slow:
            image: local/busybox:1
            command: ["sh", "-c", "sleep {{readyAfterSeconds}} && touch /tmp/ready && sleep 600"]
            init: true
            healthcheck:
              test: ["CMD", "test", "-f", "/tmp/ready"]
              interval: 1s
              retries: 30
          web:
            image: local/busybox:1
            command: ["sleep", "600"]
            init: true
            depends_on:
              slow:
                condition: service_healthy
        """;
}
