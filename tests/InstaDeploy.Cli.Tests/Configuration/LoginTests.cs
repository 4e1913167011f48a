namespace InstaDeploy.Cli.Tests.Configuration;

/// <summary>login, context add/use/ls/rm, and what lands in ~/.config/instadeploy, with the built program as a process.</summary>
[Collection(CliCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class LoginTests(CliFixture fleet)
{
    [Fact]
    public async Task LoginReadsTheKeyFromStandardInputAndKeepsItOwnerOnlyAndOutOfConfigJson()
    {
        using var user = new CliUser();
        var added = await user.RunProcessAsync("context", "add", "prod", fleet.Url.ToString());
        Assert.True(added.ExitCode == 0, added.ToString());

        var login = await user.RunProcessAsync(["login"], ControlPlaneFactory.AdminApiKey + "\n");
        Assert.True(login.ExitCode == 0, login.ToString());
        Assert.DoesNotContain(ControlPlaneFactory.AdminApiKey, login.Stdout + login.Stderr);
        Assert.Contains("Logged in", login.Stderr);

        var config = Path.Combine(user.ConfigFolder, "config.json");
        var credentials = Path.Combine(user.ConfigFolder, "credentials.json");
        Assert.DoesNotContain(ControlPlaneFactory.AdminApiKey, await File.ReadAllTextAsync(config));
        Assert.Contains(fleet.Url.Authority, await File.ReadAllTextAsync(config));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(config));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(credentials));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(user.ConfigFolder));
        Assert.Empty(Directory.GetFiles(user.ConfigFolder, "*.tmp", SearchOption.AllDirectories));

        var agents = await user.RunProcessAsync("agents", "ls");
        Assert.True(agents.ExitCode == 0, agents.ToString());
        Assert.Contains(CliFixture.AgentId, agents.Stdout);

        var contexts = await user.RunProcessAsync("context", "ls");
        Assert.Matches(@"\*\s+prod\s+http://127\.0\.0\.1:\d+\s+yes", contexts.Stdout);
        Assert.DoesNotContain(ControlPlaneFactory.AdminApiKey, contexts.Stdout + contexts.Stderr);

        var logout = await user.RunProcessAsync("logout");
        Assert.True(logout.ExitCode == 0, logout.ToString());
        Assert.DoesNotContain(ControlPlaneFactory.AdminApiKey, await File.ReadAllTextAsync(credentials));
        Assert.Equal(3, (await user.RunProcessAsync("agents", "ls")).ExitCode);
    }

    [Fact]
    public async Task AWrongKeyIsRefusedWithExitCode3AndNothingIsStored()
    {
        using var user = new CliUser();
        await user.RunProcessAsync("context", "add", "prod", fleet.Url.ToString());
        var login = await user.RunProcessAsync(["login"], "idk_not-a-real-key-0123456789\n");

        Assert.True(login.ExitCode == 3, login.ToString());
        Assert.Contains("refused this API key", login.Stderr);
        Assert.DoesNotContain("idk_not-a-real-key", login.Stdout + login.Stderr);
        Assert.False(File.Exists(Path.Combine(user.ConfigFolder, "credentials.json")));
    }

    [Fact]
    public async Task TheKeyIsNeverTakenFromAnArgument()
    {
        using var user = new CliUser();
        await user.RunProcessAsync("context", "add", "prod", fleet.Url.ToString());
        var login = await user.RunProcessAsync(["login", ControlPlaneFactory.AdminApiKey], "");

        Assert.True(login.ExitCode == 2, login.ToString());
        Assert.False(File.Exists(Path.Combine(user.ConfigFolder, "credentials.json")));
        var agents = await user.RunProcessAsync("agents", "ls");
        Assert.True(agents.ExitCode == 3, agents.ToString());
        Assert.Contains("instadeploy login", agents.Stderr);
    }

    [Fact]
    public async Task ContextsAreListedRemovedWithTheirKeyAndUnknownOnesAreNotFound()
    {
        using var user = await fleet.LoggedInUserAsync();
        Assert.Equal(0, (await user.RunAsync("context", "add", "other", "https://deploy.example.com/")).ExitCode);

        var listed = CliFixture.Json((await user.RunAsync("context", "ls", "-o", "json")).Stdout);
        Assert.Equal("test", listed.GetProperty("current_context").GetString());
        var contexts = listed.GetProperty("contexts").EnumerateArray().ToList();
        Assert.Equal(["other", "test"], contexts.Select(c => c.GetProperty("name").GetString()));
        Assert.False(contexts[0].GetProperty("logged_in").GetBoolean());
        Assert.True(contexts[1].GetProperty("logged_in").GetBoolean());
        Assert.Equal("https://deploy.example.com", contexts[0].GetProperty("url").GetString());

        var removed = await user.RunAsync("context", "rm", "test");
        Assert.True(removed.ExitCode == 0, removed.ToString());
        Assert.DoesNotContain(ControlPlaneFactory.AdminApiKey, await File.ReadAllTextAsync(Path.Combine(user.ConfigFolder, "credentials.json")));
        Assert.Equal(["other"], (await user.RunAsync("context", "ls", "-q")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        Assert.Equal(4, (await user.RunAsync("context", "use", "test")).ExitCode);
        Assert.Equal(4, (await user.RunAsync("context", "rm", "test")).ExitCode);
        var badUrl = await user.RunAsync("context", "add", "bad", "ftp://example.com");
        Assert.Equal(2, badUrl.ExitCode);
        Assert.Contains("not an http:// or https:// URL", badUrl.Stderr);
    }
}
