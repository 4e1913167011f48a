namespace InstaDeploy.Cli.Tests.Commands;

/// <summary>keys and enrollment-tokens: the secret shown once, never listed, revocation effective.</summary>
[Collection(CliCollection.Name)]
public sealed class KeysCommandTests(CliFixture fleet)
{
    [Fact]
    public async Task AKeyCreatedWithQuietIsPrintedAloneWorksIsNeverListedAndStopsWhenRevoked()
    {
        using var admin = await fleet.LoggedInUserAsync();
        var created = await admin.RunAsync("keys", "create", "cli-ci", "--scope", "deploy", "--expires", "30d", "-q");
        Assert.True(created.ExitCode == 0, created.ToString());
        var key = created.Stdout.Trim();
        Assert.StartsWith("idk_", key);
        Assert.Equal("", created.Stderr);

        using var ci = new CliUser();
        ci.Environment["INSTADEPLOY_URL"] = fleet.Url.ToString();
        ci.Environment["INSTADEPLOY_API_KEY"] = key;
        Assert.Equal(0, (await ci.RunProcessAsync("agents", "ls")).ExitCode);
        var forbidden = await ci.RunProcessAsync("keys", "ls");
        Assert.True(forbidden.ExitCode == 3, forbidden.ToString());

        var listed = await admin.RunAsync("keys", "ls", "-o", "json");
        Assert.DoesNotContain(key, listed.Stdout);
        var entry = CliFixture.Json(listed.Stdout).EnumerateArray().Single(k => k.GetProperty("name").GetString() == "cli-ci");
        Assert.True(entry.GetProperty("active").GetBoolean());
        Assert.Equal(CliFixture.Shape((await fleet.Api.GetJsonAsync("/api-keys"))[0]), CliFixture.Shape(entry));

        Assert.Equal(0, (await admin.RunAsync("keys", "revoke", entry.GetProperty("id").GetString()!)).ExitCode);
        var revoked = await ci.RunProcessAsync("agents", "ls");
        Assert.True(revoked.ExitCode == 3, revoked.ToString());
        Assert.Contains("Unauthorized (401)", revoked.Stderr);
        Assert.Equal(4, (await admin.RunAsync("keys", "revoke", "key_nope")).ExitCode);

        var badScope = await admin.RunAsync("keys", "create", "x", "--scope", "root");
        Assert.Equal(2, badScope.ExitCode);
        var badExpiry = await admin.RunAsync("keys", "create", "x", "--scope", "read", "--expires", "soon");
        Assert.Equal(2, badExpiry.ExitCode);
        Assert.Contains("--expires 'soon'", badExpiry.Stderr);
    }

    [Fact]
    public async Task EnrollmentTokensAreCreatedOnceListedWithoutTheirSecretAndRevoked()
    {
        using var admin = await fleet.LoggedInUserAsync();
        var created = await admin.RunAsync("enrollment-tokens", "create", "web-07", "--uses", "2", "--expires-in", "600", "-o", "json");
        Assert.True(created.ExitCode == 0, created.ToString());
        var token = CliFixture.Json(created.Stdout);
        var secret = token.GetProperty("token").GetString()!;
        var id = token.GetProperty("id").GetString()!;
        Assert.Equal(2, token.GetProperty("uses").GetInt32());

        var listed = await admin.RunAsync("enrollment-tokens", "ls");
        Assert.Matches($@"{id}\s+web-07\s+2", listed.Stdout);
        Assert.DoesNotContain(secret, listed.Stdout);

        Assert.Equal(0, (await admin.RunAsync("enrollment-tokens", "revoke", id)).ExitCode);
        Assert.Matches($@"{id}\s+web-07\s+2\s+\S+ \S+\s+\S+ \S+\s+\d{{4}}-", (await admin.RunAsync("enrollment-tokens", "ls")).Stdout);
        Assert.Equal(4, (await admin.RunAsync("enrollment-tokens", "revoke", "nope")).ExitCode);
        Assert.Equal(2, (await admin.RunAsync("enrollment-tokens", "create", "x", "--uses", "0")).ExitCode);
    }
}
