using System.Diagnostics;

namespace InstaDeploy.Cli.Tests.Rollouts;

/// <summary>
/// `deploy --selector`, `rollouts`, `rollback --selector` against the real control plane and the two real agents on the
/// real Docker engine: what the CLI says and how it exits, checked against what `docker` itself runs.
/// </summary>
[Collection(RolloutCollection.Name)]
public sealed class RolloutDockerTests(RolloutFleetFixture fleet) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("instadeploy-cli-rollout-").FullName;

    private string Write(string name, string text)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static async Task<string[][]> VersionsAsync(string project) =>
        [.. await Task.WhenAll(RolloutFleetFixture.WebAgents.Select(a => RolloutFleetFixture.RunningVersionsAsync(project, a)))];

    [Fact]
    public async Task ARolloutToTwoRealAgentsIsFollowedToItsEndAndAFleetRollbackAndAFailedRolloutPutTheOldVersionBack()
    {
        var project = fleet.Project("cli-ro");
        using var user = await fleet.LoggedInUserAsync();

        // v1, followed as CI would: one line per change on standard error, exit 0, both agents run it.
        var v1 = await user.RunAsync("deploy", "-f", Write("v1.yml", RolloutFleetFixture.Compose("1")), "-p", project,
            "--selector", "role=web", "--max-parallel", "50%", "--health-wait", "30", "--follow");
        Assert.True(v1.ExitCode == 0, v1.ToString());
        Assert.Matches(@"Rolling out \S+ to 2 target\(s\): rollout ro-\S+", v1.Stderr);
        Assert.Matches($@"rollout ro-\S+ of {project}, 2 target\(s\) by role=web: max_parallel 1 \(50%\), canary none, batch wait 0 s, health wait 30 s", v1.Stderr);
        foreach (var agent in RolloutFleetFixture.WebAgents)
        {
            Assert.Matches($@"  {agent} deploying \(job job-\S+\)", v1.Stderr);
            Assert.Matches($@"  {agent} succeeded \(revision \d+, job job-\S+\)", v1.Stderr);
            Assert.Matches($@"\d\s+{agent}\s+\d\s+succeeded\s+job-", v1.Stdout);
        }
        Assert.Matches(@"Rollout ro-\S+ succeeded: 2/2 done \(2 succeeded\)", v1.Stderr);
        Assert.Equal([["1"], ["1"]], await VersionsAsync(project));

        // v2 with -o json: standard output is the rollout as GET /rollouts/{id} answers it, and nothing else.
        var v2 = await user.RunAsync("deploy", "-f", Write("v2.yml", RolloutFleetFixture.Compose("2")), "-p", project,
            "--selector", "role=web", "--max-parallel", "2", "--follow", "-o", "json");
        Assert.True(v2.ExitCode == 0, v2.ToString());
        var rollout = CliFixture.Json(v2.Stdout);
        var id = rollout.GetProperty("rollout_id").GetString()!;
        var api = await fleet.RolloutAsync(id);
        Assert.Equal(CliFixture.Shape(api), CliFixture.Shape(rollout));
        Assert.Equal(CliFixture.Shape(api.GetProperty("targets")[0]), CliFixture.Shape(rollout.GetProperty("targets")[0]));
        Assert.Equal(("succeeded", 2), (rollout.GetProperty("state").GetString(), rollout.GetProperty("counts").GetProperty("succeeded").GetInt32()));
        Assert.Equal(api.GetProperty("last_event_id").GetInt64(), rollout.GetProperty("last_event_id").GetInt64());
        Assert.Equal([["2"], ["2"]], await VersionsAsync(project));

        var listed = await user.RunAsync("rollouts", "ls", "--project", project, "-o", "json");
        var list = CliFixture.Json(listed.Stdout);
        Assert.Equal(2, list.GetArrayLength());
        Assert.Equal(id, list[0].GetProperty("rollout_id").GetString());
        Assert.Equal(CliFixture.Shape((await fleet.Api.GetJsonAsync($"/rollouts?project_name={project}"))[0]), CliFixture.Shape(list[0]));
        Assert.Matches($@"{id}\s+{project}\s+succeeded\s+2/2\s+0\s+role=web", (await user.RunAsync("rollouts", "ls", "-p", project)).Stdout);
        var shown = await user.RunAsync("rollouts", "show", id);
        Assert.Matches(@"strategy\s+max_parallel 2, canary none, batch wait 0 s, health wait 60 s, max_failures 1, on_failure pause, offline wait", shown.Stdout);
        Assert.Matches(@"targets\s+2/2 done \(2 succeeded\)", shown.Stdout);

        // The fleet back to the newest file that ran everywhere before: v1.
        var back = await user.RunAsync("rollback", project, "--selector", "role=web", "--max-parallel", "2", "--follow");
        Assert.True(back.ExitCode == 0, back.ToString());
        Assert.Equal([["1"], ["1"]], await VersionsAsync(project));

        // v3 fails its health gate on web-2 only (its own variable): the rollout rolls back, web-1 gets v1 back, exit 1.
        Assert.Equal(0, (await user.RunAsync("env", "set", project, "HEALTHY", "false", "--agent", "web-2")).ExitCode);
        var started = await user.RunAsync("deploy", "-f", Write("v3.yml", RolloutFleetFixture.Compose("3", gated: true)), "-p", project,
            "--selector", "role=web", "--on-failure", "rollback", "--health-wait", "20", "-q");
        Assert.True(started.ExitCode == 0, started.ToString());
        var failedId = started.Stdout.Trim();
        Assert.StartsWith("ro-", failedId);
        var watched = await user.RunAsync("rollouts", "show", failedId, "--watch");
        Assert.True(watched.ExitCode == 1, watched.ToString());
        Assert.Matches(@"  web-2 failed: ", watched.Stderr);
        Assert.Matches(@"  web-1 rolling_back[\s\S]+  web-1 rolled_back", watched.Stderr);
        Assert.Contains($"error: Rollout {failedId} ended rolled_back: 1 of 2 targets failed", watched.Stderr);
        Assert.Matches(@"web-1\s+0\s+rolled_back", watched.Stdout);
        Assert.Equal([["1"], ["1"]], await VersionsAsync(project));

        // Watching a rollout that has ended says the same, at once; on a terminal as a live view.
        Assert.Equal(1, (await user.RunAsync("rollouts", "show", failedId, "--watch")).ExitCode);
        var terminal = await OnTerminalAsync(user, "rollouts", "show", id, "--watch");
        Assert.Matches(@"\u001b\[[0-9;]*m", terminal);
        var shownThere = System.Text.RegularExpressions.Regex.Replace(terminal, @"\u001b(\[[0-9;?]*[A-Za-z]|[=>])", "");
        Assert.True(shownThere.Contains(new string('█', 30) + " 2/2", StringComparison.Ordinal), shownThere);
    }

    [Fact]
    public async Task ARolloutWithoutAFileOrWithSingleAgentFlagsIsRefusedBeforeAnythingIsSent()
    {
        using var user = await fleet.LoggedInUserAsync();
        var compose = Write("docker-compose.yml", RolloutFleetFixture.Compose("1"));
        (string[] Args, string Error)[] cases =
        [
            (["deploy", "-p", "x", "--selector", "role=web"], "Give the compose file to deploy with -f FILE"),
            (["deploy", "-f", compose, "-p", "x", "--selector", "role=web", "--rollback-to", "newest_common"], "--rollback-to deploys files the targets ran before: leave -f out"),
            (["deploy", "--selector", "role=web", "--rollback-to", "newest_common"], "--rollback-to needs the project: add -p PROJECT"),
            (["deploy", "-p", "x", "--selector", "role=web", "--rollback-to", "latest"], "--rollback-to takes newest_common"),
            (["deploy", "-f", compose, "-p", "x", "--agent", "web-1", "--canary", "1"], "--canary applies to a rollout: add --selector, or several --agent"),
            (["deploy", "-f", compose, "-p", "x", "--selector", "role=web", "--fail-fast"], "--fail-fast applies to one agent; a rollout takes --offline skip"),
            (["deploy", "-f", compose, "-p", "x", "--selector", "role=web", "--rollback-on-failure"], "a rollout takes --on-failure rollback"),
            (["deploy", "-f", compose, "-p", "x", "--selector", "role=web", "--auto-promote"], "--auto-promote promotes canaries: give --canary N too"),
            (["deploy", "-f", compose, "-p", "x", "--selector", "role=web", "--until-promotion"], "--until-promotion stops a follow: add --follow or --wait"),
            (["deploy", "-f", compose, "-p", "x", "--selector", "role=web", "--agent", "web-1"], "Give --agent or --selector, not both"),
            (["rollback", "x", "--canary", "1"], "--canary applies to a rollout: add --selector"),
        ];
        foreach (var (args, error) in cases)
        {
            var result = await user.RunAsync(args);
            Assert.True(result.ExitCode == 2, $"{string.Join(' ', args)}: {result}");
            Assert.Contains(error, result.Stderr);
        }
        Assert.Equal(0, (await fleet.Api.GetJsonAsync("/rollouts?project_name=x")).GetArrayLength());

        // What only the server knows is its 400, with the detail that says what to fix.
        var badSelector = await user.RunAsync("deploy", "-f", compose, "-p", "x", "--selector", "zone in (a");
        Assert.Equal(2, badSelector.ExitCode);
        Assert.Contains("targets.selector: at position", badSelector.Stderr);
        var badParallel = await user.RunAsync("deploy", "-f", compose, "-p", "x", "--selector", "role=web", "--max-parallel", "0");
        Assert.Equal(2, badParallel.ExitCode);
        Assert.Contains("strategy.max_parallel", badParallel.Stderr);
        var nothing = await user.RunAsync("deploy", "-f", compose, "-p", "x", "--selector", "role=nothing");
        Assert.Equal(2, nothing.ExitCode);
        Assert.Contains("matches none of the", nothing.Stderr);
        Assert.Equal(4, (await user.RunAsync("rollouts", "show", "ro-does-not-exist")).ExitCode);
    }

    /// <summary>The command with standard output and error on a pseudo-terminal (util-linux `script`): what it showed.</summary>
    private static async Task<string> OnTerminalAsync(CliUser user, params string[] args)
    {
        var command = $"HOME='{user.Home}' dotnet '{CliUser.CliDll}' {string.Join(' ', args)}";
        var start = new ProcessStartInfo("script", ["-qec", command, "/dev/null"]) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        start.Environment.Remove("NO_COLOR");
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        return output;
    }

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
}
