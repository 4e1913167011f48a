using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace InstaDeploy.Cli.Tests.Commands;

/// <summary>`logs -f` through a network that is cut mid-stream: the CLI reconnects and prints every line exactly once.</summary>
[Collection(CliCollection.Name)]
public sealed class FollowResumeTests(CliFixture fleet)
{
    private const string Counter = """
        services:
          counter:
            image: local/busybox:1
            command: ["sh", "-c", "i=0; while true; do i=$$((i+1)); echo line $$i; sleep 0.2; done"]
            init: true
        """;

    [Fact]
    public async Task AFollowedStreamCutByTheNetworkResumesWithoutLosingOrRepeatingLines()
    {
        var project = CliFixture.UniqueProject("cli-follow");
        try
        {
            using (var deploy = await fleet.Api.PostJsonAsync("/deploy", new { project_name = project, compose_file_base64 = Convert.ToBase64String(Encoding.UTF8.GetBytes(Counter)), agent_id = CliFixture.AgentId }))
            {
                Assert.Equal(System.Net.HttpStatusCode.Accepted, deploy.StatusCode);
                var job = await fleet.Api.WaitForJobAsync((await deploy.ReadJsonAsync()).GetProperty("job_id").GetString()!, TimeSpan.FromMinutes(2));
                Assert.Equal("COMPLETED", job.GetProperty("status").GetString());
            }

            await using var proxy = new TcpCutProxy(fleet.Url.Port);
            using var user = new CliUser();
            await user.LogInAsync("via-proxy", new Uri($"http://127.0.0.1:{proxy.Port}"), ControlPlaneFactory.AdminApiKey);

            var following = user.RunAsync("logs", project, "-f", "--tail", "3", "--follow-seconds", "8");
            await Task.Delay(TimeSpan.FromSeconds(3));
            proxy.Cut();
            await Task.Delay(TimeSpan.FromSeconds(1));
            proxy.Restore();
            var result = await following;

            Assert.True(result.ExitCode == 0, result.ToString());
            var numbers = Regex.Matches(result.Stdout, @"^line (\d+)$", RegexOptions.Multiline).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
            Assert.True(numbers.Count > 20, result.ToString()); // ~8 s at 5 lines a second
            for (var i = 1; i < numbers.Count; i++)
                Assert.True(numbers[i] == numbers[i - 1] + 1, $"line {numbers[i]} follows line {numbers[i - 1]}:\n{result.Stdout}");
            Assert.Equal(numbers.Count, result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        }
        finally
        {
            foreach (var name in await DockerCli.ContainersOfProjectAsync(project)) await DockerCli.RunAsync("rm", "-f", name);
            await DockerCli.RunAsync("network", "rm", $"{project}_default");
        }
    }
}
