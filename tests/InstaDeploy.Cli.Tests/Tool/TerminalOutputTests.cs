using System.Diagnostics;

namespace InstaDeploy.Cli.Tests.Tool;

/// <summary>Colour and animation only on a terminal, and never with NO_COLOR or --no-color; the terminal is a real
/// pseudo-terminal made by util-linux's `script`.</summary>
[Collection(CliCollection.Name)]
public sealed class TerminalOutputTests(CliFixture fleet)
{
    private const string Escape = "\u001b[";

    /// <summary>A colour or style (SGR) sequence.</summary>
    private const string Colour = @"\u001b\[[0-9;]*m";

    [Fact]
    public async Task PipedOutputHasNoEscapeCodes()
    {
        using var user = await fleet.LoggedInUserAsync();
        foreach (var args in new[] { new[] { "agents", "ls" }, ["agents", "health", CliFixture.AgentId], ["agents", "show", "nope"] })
        {
            var result = await user.RunProcessAsync(args);
            Assert.DoesNotContain(Escape, result.Stdout);
            Assert.DoesNotContain(Escape, result.Stderr);
        }
    }

    [Fact]
    public async Task ATerminalGetsColourUnlessNoColorOrTheFlagSaysNo()
    {
        using var user = await fleet.LoggedInUserAsync();
        Assert.Matches(Colour, await OnTerminalAsync(user, ""));
        Assert.DoesNotMatch(Colour, await OnTerminalAsync(user, "NO_COLOR=1 "));
        Assert.DoesNotMatch(Colour, await OnTerminalAsync(user, "", "--no-color"));
    }

    /// <summary>`agents ls` with standard output on a pseudo-terminal; what the terminal showed.</summary>
    private static async Task<string> OnTerminalAsync(CliUser user, string environment, string extra = "")
    {
        var command = $"{environment}HOME='{user.Home}' dotnet '{CliUser.CliDll}' agents ls {extra}";
        var start = new ProcessStartInfo("script", ["-qec", command, "/dev/null"]) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        start.Environment.Remove("NO_COLOR");
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        Assert.True(process.ExitCode == 0, output + await process.StandardError.ReadToEndAsync());
        Assert.Contains(CliFixture.AgentId, output);
        return output;
    }
}
