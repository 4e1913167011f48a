using System.Diagnostics;

namespace InstaDeploy.Cli.Tests.Tool;

/// <summary>The bash and zsh completion scripts, run by the real shells against the built program.</summary>
[Collection(CliCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CompletionTests(CliFixture fleet) : IDisposable
{
    private readonly string _bin = Directory.CreateTempSubdirectory("instadeploy-cli-bin-").FullName;

    private async Task<string[]> CompleteAsync(string shell, CliUser user, string script)
    {
        CliUser.WriteCommand(_bin);
        var start = new ProcessStartInfo(shell, ["-c", script]) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["PATH"] = _bin + ":" + start.Environment["PATH"];
        start.Environment["HOME"] = user.Home;
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        Assert.True(process.ExitCode == 0, output + error);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    private Task<string[]> BashAsync(CliUser user, params string[] words) => CompleteAsync("bash", user, $$"""
        source <(instadeploy completion bash)
        COMP_WORDS=({{string.Join(' ', words.Select(w => $"'{w}'"))}})
        COMP_CWORD={{words.Length - 1}}
        COMP_LINE='{{string.Join(' ', words)}}'
        COMP_POINT=${#COMP_LINE}
        _instadeploy_complete
        printf '%s\n' "${COMPREPLY[@]}"
        """);

    [Fact]
    public async Task BashCompletesCommandsOptionsAndContextNames()
    {
        using var user = await fleet.LoggedInUserAsync();
        Assert.Equal(0, (await user.RunAsync("context", "add", "staging", "https://staging.example.com")).ExitCode);

        Assert.Equal(["agents"], await BashAsync(user, "instadeploy", "ag"));
        Assert.Contains("rollback", await BashAsync(user, "instadeploy", "ro"));
        Assert.Contains("rollouts", await BashAsync(user, "instadeploy", "ro"));
        Assert.Equal(["--follow"], await BashAsync(user, "instadeploy", "deploy", "--fol"));
        var names = await BashAsync(user, "instadeploy", "context", "use", "");
        Assert.Contains("staging", names);
        Assert.Contains("test", names);
        Assert.Equal(["staging"], await BashAsync(user, "instadeploy", "context", "use", "st"));
        Assert.Equal(["json"], await BashAsync(user, "instadeploy", "agents", "ls", "-o", "j"));
    }

    [Fact]
    public async Task ZshCompletesCommandsAndContextNames()
    {
        if (!File.Exists("/usr/bin/zsh") && !File.Exists("/bin/zsh"))
            throw new InvalidOperationException("zsh is not installed: eng/test.sh installs it (apt-get install zsh) for this test.");
        using var user = await fleet.LoggedInUserAsync();
        // compadd is a completion-system builtin: here it prints what it is given, so the function's answers are seen.
        async Task<string[]> ZshAsync(params string[] words) => await CompleteAsync("zsh", user, $$"""
            compdef() { :; }
            compadd() { [[ $1 == -- ]] && shift; printf '%s\n' "$@"; }
            source <(instadeploy completion zsh)
            words=({{string.Join(' ', words.Select(w => $"'{w}'"))}})
            CURRENT={{words.Length}}
            _instadeploy
            """);

        Assert.Contains("agents", await ZshAsync("instadeploy", "ag"));
        Assert.Contains("test", await ZshAsync("instadeploy", "context", "use", ""));
    }

    public void Dispose()
    {
        try { Directory.Delete(_bin, recursive: true); } catch (IOException) { }
    }
}
