using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace InstaDeploy.Console.Tests.Browser;

[Collection(ConsoleCollection.Name)]
public sealed class SecretsAndScopesTests(ConsoleFixture fleet)
{
    [Fact]
    public async Task ASecretSetInTheConsoleIsMaskedOnEveryPageAndInTheContainerLogs()
    {
        var project = ConsoleFixture.Project("secret");
        var secret = "s3cr3t-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
        try
        {
            var (context, page) = await fleet.SignInAsync();
            await using var _ = context;
            await page.GotoAsync($"/ui/projects/{project}/variables");
            await page.GetByLabel("Name").FillAsync("APP_SECRET");
            await page.GetByLabel("Value").FillAsync(secret);
            await page.GetByLabel("Secret", new() { Exact = true }).CheckAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Set" }).ClickAsync();
            await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("APP_SECRET is set (secret)");
            var variable = page.GetByRole(AriaRole.Row).Filter(new() { HasText = "APP_SECRET" });
            await Assertions.Expect(variable.GetByText("********")).ToBeVisibleAsync();
            await AssertNotShownAsync(page, secret);
            await Pages.AssertControlsLabelledAsync(page);
            await ConsoleFixture.ScreenshotAsync(page, "variables");

            await page.GotoAsync($"/ui/deploy?project={project}");
            await page.GetByLabel("Compose file", new() { Exact = true }).FillAsync(ComposeFiles.Ticker("APP_SECRET"));
            await page.GetByLabel("Agent", new() { Exact = true }).SelectOptionAsync(ConsoleFixture.AgentId);
            await page.GetByRole(AriaRole.Button, new() { Name = "Deploy", Exact = true }).ClickAsync();
            await Assertions.Expect(page.GetByTestId("job-status")).ToHaveTextAsync("COMPLETED", new() { Timeout = 120_000 });
            await AssertNotShownAsync(page, secret);

            // The container printed it; every agent's logs of the project, merged, show it redacted.
            await page.GotoAsync($"/ui/projects/{project}/logs");
            // Every line since the container started (it prints 5 a second; the default tail would lose the first on a slow machine).
            await page.GetByLabel("Last lines per container").FillAsync("10000");
            await page.GetByRole(AriaRole.Button, new() { Name = "Show logs" }).ClickAsync();
            await Assertions.Expect(page.Locator("#container-logs .line").Filter(new() { HasText = "the secret is ********" })).ToBeVisibleAsync(new() { Timeout = 60_000 });
            await Assertions.Expect(page.Locator("#container-logs .line").Filter(new() { HasText = "tick" }).First).ToBeVisibleAsync();
            // The container's ANSI colours are rendered as colours, the escapes themselves never shown.
            var red = page.Locator("#container-logs .line .text span.ansi-fg1.ansi-bold", new() { HasText = "red alert" });
            await Assertions.Expect(red).ToBeVisibleAsync();
            await Assertions.Expect(red).ToHaveCSSAsync("color", "rgb(255, 123, 114)");
            await Assertions.Expect(page.Locator("#container-logs .line").Filter(new() { HasText = "red alert" }).Locator(".text")).ToHaveTextAsync("red alert plain");
            await page.GetByLabel("Filter lines").FillAsync("secret");
            await Assertions.Expect(page.Locator("#container-logs .line").Filter(new() { HasText = "tick" })).ToHaveCountAsync(0);
            await AssertNotShownAsync(page, secret);
            var download = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Download" }).ClickAsync());
            var text = await File.ReadAllTextAsync(await download.PathAsync());
            Assert.Contains("the secret is ********", text);
            Assert.DoesNotContain(secret, text);
            Assert.Matches(new Regex(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ console-agent "), text);
            await page.GetByLabel("Filter lines").FillAsync("");
            // Unfiltered, the download has every line, its colours dropped rather than written as escapes.
            var all = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Download" }).ClickAsync());
            var plain = await File.ReadAllTextAsync(await all.PathAsync());
            Assert.Contains("| red alert plain\n", plain);
            Assert.Contains("tick 1\n", plain);
            Assert.DoesNotContain('\u001b', plain);
            await ConsoleFixture.ScreenshotAsync(page, "container-logs");

            foreach (var path in new[] { $"/ui/projects/{project}", $"/ui/projects/{project}/history", $"/ui/jobs?project={project}" })
            {
                await page.GotoAsync(path);
                await AssertNotShownAsync(page, secret);
            }
        }
        finally
        {
            await ConsoleFixture.RemoveProjectAsync(project);
        }
    }

    [Fact]
    public async Task AReadOnlyKeySeesNoDeployOrRollbackControlAndItsForgedFormPostsAreRefused()
    {
        var project = ConsoleFixture.Project("readonly");
        try
        {
            // A project with two revisions, deployed over REST.
            foreach (var version in new[] { "r1", "r2" })
            {
                using var deploy = await fleet.Api.PostJsonAsync("/deploy", new
                {
                    project_name = project, agent_id = ConsoleFixture.AgentId, health_wait_seconds = 0,
                    compose_file_base64 = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(ComposeFiles.Web(version, ProcessFleet.FreePort()))),
                });
                Assert.Equal(HttpStatusCode.Accepted, deploy.StatusCode);
                await fleet.Api.WaitForJobAsync((await deploy.ReadJsonAsync()).GetProperty("job_id").GetString()!, TimeSpan.FromSeconds(120));
            }
            var (_, readKey) = await fleet.CreateKeyAsync("console-reader", "read");
            var (context, page) = await fleet.SignInAsync(readKey);
            await using var _ = context;

            await Assertions.Expect(page.GetByRole(AriaRole.Navigation, new() { Name = "Main" }).GetByRole(AriaRole.Link, new() { Name = "Deploy" })).ToHaveCountAsync(0);
            await page.GotoAsync($"/ui/projects/{project}");
            await Assertions.Expect(page.GetByText("Deploy a new compose file")).ToHaveCountAsync(0);
            await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { NameRegex = new Regex("Refresh") })).ToHaveCountAsync(0);
            await page.GotoAsync($"/ui/projects/{project}/history");
            await Assertions.Expect(page.GetByRole(AriaRole.Row).Filter(new() { HasText = "r1" }).First).ToBeVisibleAsync();
            await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { NameRegex = new Regex("Roll back") })).ToHaveCountAsync(0);
            await page.GotoAsync($"/ui/projects/{project}/variables");
            await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Set" })).ToHaveCountAsync(0);
            await page.GotoAsync($"/ui/fleet/{ConsoleFixture.AgentId}");
            await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Run health check" })).ToHaveCountAsync(0);
            await page.GotoAsync("/ui/deploy");
            Assert.Contains("/ui/denied", page.Url);

            // Forged posts with the read session's cookie and a valid antiforgery token from a page it can see.
            await page.GotoAsync($"/ui/projects/{project}/history");
            var token = await page.Locator("input[name=__RequestVerificationToken]").First.GetAttributeAsync("value");
            var jobsBefore = (await fleet.Api.GetJsonAsync($"/jobs?project_name={project}")).GetArrayLength();
            var rollback = await page.APIRequest.PostAsync($"/ui/projects/{project}/history", new() { Form = Form(page, ("_handler", "rollback"), ("__RequestVerificationToken", token!), ("revision", "1")) });
            Assert.Equal(403, rollback.Status);
            var deployPost = await page.APIRequest.PostAsync("/ui/deploy", new() { Form = Form(page, ("_handler", "deploy"), ("__RequestVerificationToken", token!), ("project", project), ("compose", ComposeFiles.Web("forged", 1))), MaxRedirects = 0 });
            Assert.Equal(403, deployPost.Status);
            var variable = await page.APIRequest.PostAsync($"/ui/projects/{project}/variables", new() { Form = Form(page, ("_handler", "set-variable"), ("__RequestVerificationToken", token!), ("name", "FORGED"), ("value", "x")) });
            Assert.Equal(403, variable.Status);
            Assert.Equal(jobsBefore, (await fleet.Api.GetJsonAsync($"/jobs?project_name={project}")).GetArrayLength());
            Assert.Equal(0, (await fleet.Api.GetJsonAsync($"/deployments/{project}/env")).GetProperty("variables").GetArrayLength());

            // Without the antiforgery token, even an admin's session is refused.
            var (adminContext, adminPage) = await fleet.SignInAsync();
            await using var __ = adminContext;
            var tokenless = await adminPage.APIRequest.PostAsync($"/ui/projects/{project}/history", new() { Form = Form(adminPage, ("_handler", "rollback"), ("revision", "1")) });
            Assert.Equal(400, tokenless.Status);
            Assert.Equal(jobsBefore, (await fleet.Api.GetJsonAsync($"/jobs?project_name={project}")).GetArrayLength());
        }
        finally
        {
            await ConsoleFixture.RemoveProjectAsync(project);
        }
    }

    [Fact]
    public async Task TheSessionIsAnHttpOnlyStrictCookieThatTheApiRefusesAndThatEndsWithItsKey()
    {
        var (keyId, key) = await fleet.CreateKeyAsync("console-session", "deploy");
        var (context, page) = await fleet.SignInAsync(key);
        await using var _ = context;
        var cookie = Assert.Single(await context.CookiesAsync(), c => c.Name == "instadeploy_console");
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
        Assert.InRange(DateTimeOffset.FromUnixTimeSeconds((long)cookie.Expires) - DateTimeOffset.UtcNow, TimeSpan.FromHours(7), TimeSpan.FromHours(8.1));
        Assert.DoesNotContain(key, cookie.Value);

        // The REST API takes Bearer keys only: the session's cookie gets it nothing.
        var api = await page.APIRequest.GetAsync("/agents");
        Assert.Equal(401, api.Status);

        // Revoked, the key ends the session on its next page.
        using (var revoke = await fleet.Api.DeleteAsync($"/api-keys/{keyId}")) revoke.EnsureSuccessStatusCode();
        await page.GotoAsync("/ui/projects");
        Assert.Contains("/ui/sign-in", page.Url);

        // A wrong key is refused with a message; sign-out ends a session.
        var (otherContext, other) = await fleet.SignInAsync();
        await using var __ = otherContext;
        await other.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await other.WaitForURLAsync(new Regex("/ui/sign-in"));
        await other.GotoAsync("/ui");
        Assert.Contains("/ui/sign-in", other.Url);
        await other.GetByLabel("API key").FillAsync("idk_not-a-key-0123456789abcdef0123456789");
        await other.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(other.GetByRole(AriaRole.Alert)).ToContainTextAsync("unknown, revoked or expired");
    }

    [Fact]
    public async Task AnAdminCreatesAKeyThatIsShownOnceAndRevokesIt()
    {
        var (context, page) = await fleet.SignInAsync();
        await using var _ = context;
        await page.GotoAsync("/ui/admin/api-keys");
        await page.GetByLabel("Name").FillAsync("made-in-console");
        await page.GetByLabel(new Regex("^deploy")).CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Create" }).ClickAsync();
        var key = await page.GetByLabel("New key").InputValueAsync();
        Assert.StartsWith("idk_", key);
        using (var probe = new HttpClient { BaseAddress = fleet.ControlPlane.BaseAddress })
        {
            probe.DefaultRequestHeaders.Authorization = new("Bearer", key);
            Assert.Equal(HttpStatusCode.OK, (await probe.GetAsync("/agents")).StatusCode);
            await Pages.AssertControlsLabelledAsync(page);
            await page.GotoAsync("/ui/admin/api-keys");
            Assert.DoesNotContain(key, await page.ContentAsync());
            await ConsoleFixture.ScreenshotAsync(page, "api-keys");
            await page.GetByRole(AriaRole.Button, new() { Name = "Revoke made-in-console" }).ClickAsync();
            await Assertions.Expect(page.GetByRole(AriaRole.Row).Filter(new() { HasText = "made-in-console" }).GetByText("revoked")).ToBeVisibleAsync();
            Assert.Equal(HttpStatusCode.Unauthorized, (await probe.GetAsync("/agents")).StatusCode);
        }

        await page.GotoAsync("/ui/admin/enrollment-tokens");
        await page.GetByLabel("Name").FillAsync("web-07");
        await page.GetByLabel("Only for agent id (optional)").FillAsync("web-07");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create" }).ClickAsync();
        Assert.StartsWith("ide_", await page.GetByLabel("New token").InputValueAsync());
        await Pages.AssertControlsLabelledAsync(page);
        await ConsoleFixture.ScreenshotAsync(page, "enrollment-tokens");
    }

    private static IFormData Form(IPage page, params (string Name, string Value)[] fields)
    {
        var form = page.APIRequest.CreateFormData();
        foreach (var (name, value) in fields) form.Set(name, value);
        return form;
    }

    private static async Task AssertNotShownAsync(IPage page, string secret) =>
        Assert.DoesNotContain(secret, await page.ContentAsync());
}
