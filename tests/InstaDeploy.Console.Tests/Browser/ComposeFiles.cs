namespace InstaDeploy.Console.Tests.Browser;

/// <summary>Compose files the browser tests deploy, on the locally built example image.</summary>
internal static class ComposeFiles
{
    /// <summary>A web server answering <paramref name="version"/> on 127.0.0.1:<paramref name="port"/>; with
    /// <paramref name="slowSeconds"/>, it starts only once a first service has been healthy that long, so the deploy prints
    /// its progress over some seconds.</summary>
    public static string Web(string version, int port, int slowSeconds = 0)
    {
        List<string> lines = ["services:"];
        if (slowSeconds > 0)
            lines.AddRange([
                "  slow:",
                "    image: local/busybox:1",
                $"    command: [\"sh\", \"-c\", \"sleep {slowSeconds} && touch /tmp/ready && sleep 3600\"]",
                "    init: true",
                "    healthcheck:",
                "      test: [\"CMD\", \"test\", \"-f\", \"/tmp/ready\"]",
                "      interval: 1s",
                "      retries: 60",
            ]);
        lines.AddRange([
            "  web:",
            "    image: local/busybox:1",
            $"    command: [\"sh\", \"-c\", \"mkdir -p /www && echo {version} > /www/index.html && echo serving {version} && exec httpd -f -p 8080 -h /www\"]",
            "    init: true",
            "    ports:",
            $"      - \"127.0.0.1:{port}:8080\"",
        ]);
        if (slowSeconds > 0) lines.AddRange(["    depends_on:", "      slow:", "        condition: service_healthy"]);
        return string.Join('\n', lines) + "\n";
    }

    /// <summary>A container that prints one line in bold red (ANSI), one with the secret it was given, then a numbered tick
    /// every 200 ms.</summary>
    public static string Ticker(string secretName) => $$"""
        services:
          ticker:
            image: local/busybox:1
            command: ["sh", "-c", "printf '\\033[1;31mred alert\\033[0m plain\\n'; echo \"the secret is $${{secretName}}\"; i=0; while true; do i=$$((i+1)); echo \"tick $$i\"; sleep 0.2; done"]
            init: true
            environment:
              {{secretName}}: ${{{secretName}}}
        """;
}
