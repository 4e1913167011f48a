using InstaDeploy.Agent.Plugins;

namespace InstaDeploy.Agent.Tests.Commands;

public sealed class ChildEnvironmentTests
{
    [Fact]
    public async Task AChildProcessGetsOnlyTheAllowListedEnvironment()
    {
        var id = Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();
        var names = new[] { $"AGENT_SECRET_TOKEN_{id}", $"AWS_ACCESS_KEY_{id}", $"DOCKER_CONFIG_{id}", $"DOCKER_AUTH_TOKEN_{id}", $"COMPOSE_X_{id}", $"LC_X_{id}" };
        foreach (var name in names) Environment.SetEnvironmentVariable(name, "value-" + id);
        try
        {
            var result = await ProcessRunner.RunAsync("env", [], null, CancellationToken.None);
            var passed = result.StandardOutput.Select(line => line.Split('=')[0]).ToHashSet();
            Assert.Contains("PATH", passed);
            Assert.Contains($"DOCKER_CONFIG_{id}", passed);
            Assert.Contains($"COMPOSE_X_{id}", passed);
            Assert.Contains($"LC_X_{id}", passed);
            Assert.DoesNotContain($"AGENT_SECRET_TOKEN_{id}", passed); // not on the allow-list
            Assert.DoesNotContain($"AWS_ACCESS_KEY_{id}", passed);
            Assert.DoesNotContain($"DOCKER_AUTH_TOKEN_{id}", passed); // allowed prefix, but its name says it is a secret
            Assert.All(passed, name => Assert.True(InstaDeploy.Contracts.ChildEnvironment.IsPassed(name), $"{name} reached the child"));
        }
        finally
        {
            foreach (var name in names) Environment.SetEnvironmentVariable(name, null);
        }
    }
}
