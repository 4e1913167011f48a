namespace InstaDeploy.EndToEnd.Tests.Reliability.Chaos;

/// <summary>The compose files the randomised sequence deploys: quick, two services, and one whose deploy waits on a
/// healthcheck for a few seconds (so faults land in the middle of it). Containers run for a day, not minutes, so a long
/// sequence never sees one exit by itself. None has a network of its own: the engine's address pools hold only ~30,
/// shared with every suite running beside this one.</summary>
internal static class ChaosCompose
{
    public const int Variants = 3;

    public static string For(int variant, int step) => (variant % Variants) switch
    {
        0 => $$"""
            services:
              web:
                image: local/busybox:1
                command: ["sleep", "86400"]
                init: true
                network_mode: none
                environment:
                  STEP: "{{step}}"
            """,
        1 => $$"""
            services:
              web:
                image: local/busybox:1
                command: ["sleep", "86400"]
                init: true
                network_mode: none
                environment:
                  STEP: "{{step}}"
              worker:
                image: local/busybox:1
                command: ["sleep", "86400"]
                init: true
                network_mode: none
            """,
        _ => $$"""
            services:
              slow:
                image: local/busybox:1
                command: ["sh", "-c", "sleep 3 && touch /tmp/ready && sleep 86400"]
                init: true
                network_mode: none
                environment:
                  STEP: "{{step}}"
                healthcheck:
                  test: ["CMD", "test", "-f", "/tmp/ready"]
                  interval: 1s
                  retries: 60
              web:
                image: local/busybox:1
                command: ["sleep", "86400"]
                init: true
                network_mode: none
                depends_on:
                  slow:
                    condition: service_healthy
            """,
    };
}
