using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace InstaDeploy.Console.Tests.Browser;

/// <summary>What an operator does in the console, in a real browser against a real control plane, agent and engine.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class DeployAndRollbackTests(ConsoleFixture fleet)
{
    [Fact]
    public async Task AnOperatorSignsInDeploysWatchesTheOutputSeesItRunAndRollsBack()
    {
        var project = ConsoleFixture.Project("shop");
        var port = ProcessFleet.FreePort();
        try
        {
            // Sign in.
            var anonymous = await fleet.Browser.NewPageAsync(new BrowserNewPageOptions { BaseURL = fleet.BaseUrl });
            await anonymous.GotoAsync("/");
            Assert.Contains("/ui/sign-in", anonymous.Url);
            await ConsoleFixture.ScreenshotAsync(anonymous, "sign-in");
            await anonymous.CloseAsync();
            var (context, page) = await fleet.SignInAsync();
            await using var _ = context;

            // The fleet: the agent online, with its labels.
            await page.GotoAsync("/ui");
            var row = page.GetByRole(AriaRole.Row).Filter(new() { HasText = ConsoleFixture.AgentId });
            await Assertions.Expect(row.GetByText("online")).ToBeVisibleAsync();
            await Assertions.Expect(row.GetByText("role=web")).ToBeVisibleAsync();
            await Pages.AssertControlsLabelledAsync(page);
            await ConsoleFixture.ScreenshotAsync(page, "fleet");

            // Deploy v1 to the agent: the output arrives line by line while the job runs.
            await page.GetByRole(AriaRole.Link, new() { Name = "Deploy", Exact = true }).ClickAsync();
            await page.GetByLabel("Project name").FillAsync(project);
            await page.GetByLabel("Compose file", new() { Exact = true }).FillAsync(ComposeFiles.Web("v1", port, slowSeconds: 8));
            await page.GetByLabel("Agent", new() { Exact = true }).SelectOptionAsync(ConsoleFixture.AgentId);
            await Pages.AssertControlsLabelledAsync(page);
            await ConsoleFixture.ScreenshotAsync(page, "deploy");
            await page.GetByRole(AriaRole.Button, new() { Name = "Deploy", Exact = true }).ClickAsync();
            await page.WaitForURLAsync(new Regex("/ui/jobs/job-"));
            var status = page.GetByTestId("job-status");
            // A line shown while the job is still running: live, not on reload.
            await Assertions.Expect(page.Locator("#job-output .line[data-seq]").First).ToBeVisibleAsync(new() { Timeout = 60_000 });
            await Assertions.Expect(status).ToHaveTextAsync(new Regex("RUNNING|SENT"));
            await Assertions.Expect(status).ToHaveTextAsync("COMPLETED", new() { Timeout = 120_000 });
            Assert.Contains("v1", await HttpAsync(port));
            await ConsoleFixture.ScreenshotAsync(page, "job");

            // The project runs: its placement, and its containers from STATUS.
            await page.GotoAsync($"/ui/projects/{project}");
            await Assertions.Expect(page.GetByRole(AriaRole.Row).Filter(new() { HasText = ConsoleFixture.AgentId }).GetByText("running").First).ToBeVisibleAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Refresh (run STATUS on every agent)" }).ClickAsync();
            await Assertions.Expect(page.GetByTestId("job-status")).ToHaveTextAsync("COMPLETED", new() { Timeout = 60_000 });
            await page.GotoAsync($"/ui/projects/{project}");
            var web = page.GetByRole(AriaRole.Row).Filter(new() { HasText = "_web_" });
            await Assertions.Expect(web.GetByText("running")).ToBeVisibleAsync();
            await ConsoleFixture.ScreenshotAsync(page, "project");

            // The agent's page lists the project; the health check runs and shows its result.
            await page.GotoAsync($"/ui/fleet/{ConsoleFixture.AgentId}");
            await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = project })).ToBeVisibleAsync();
            await ConsoleFixture.ScreenshotAsync(page, "agent");
            await page.GetByRole(AriaRole.Button, new() { Name = "Run health check" }).ClickAsync();
            await Assertions.Expect(page.GetByTestId("job-status")).ToHaveTextAsync("COMPLETED", new() { Timeout = 60_000 });
            await Assertions.Expect(page.Locator("pre.result")).ToContainTextAsync("docker");

            // v2 by selector, as a rollout: its targets' progress is live.
            await page.GotoAsync($"/ui/deploy?project={project}");
            await page.GetByLabel("Compose file", new() { Exact = true }).FillAsync(ComposeFiles.Web("v2", port));
            await page.GetByLabel("Every agent a selector matches (rollout)").CheckAsync();
            await page.GetByLabel("Selector", new() { Exact = true }).FillAsync("role=web,region in (eu,us)");
            await page.GetByRole(AriaRole.Button, new() { Name = "Deploy", Exact = true }).ClickAsync();
            await page.WaitForURLAsync(new Regex("/ui/rollouts/ro-"));
            await Assertions.Expect(page.GetByTestId("rollout-state")).ToContainTextAsync("succeeded", new() { Timeout = 120_000 });
            await Assertions.Expect(page.GetByRole(AriaRole.Row).Filter(new() { HasText = ConsoleFixture.AgentId }).GetByText("succeeded")).ToBeVisibleAsync();
            Assert.Contains("v2", await HttpAsync(port));
            await ConsoleFixture.ScreenshotAsync(page, "rollout");

            // History: the diff of the two revisions, and one click back to the first.
            await page.GotoAsync($"/ui/projects/{project}/history");
            await Assertions.Expect(page.Locator("table.diff tr.removed").Filter(new() { HasText = "echo v1" })).ToBeVisibleAsync();
            await Assertions.Expect(page.Locator("table.diff tr.added").Filter(new() { HasText = "echo v2" })).ToBeVisibleAsync();
            await Pages.AssertControlsLabelledAsync(page);
            await ConsoleFixture.ScreenshotAsync(page, "history");
            await page.GetByRole(AriaRole.Button, new() { Name = $"Roll back {ConsoleFixture.AgentId} to revision 1" }).ClickAsync();
            await Assertions.Expect(page.GetByTestId("job-status")).ToHaveTextAsync("COMPLETED", new() { Timeout = 120_000 });
            Assert.Contains("v1", await HttpAsync(port));
            await page.GotoAsync($"/ui/projects/{project}/history");
            var third = page.GetByRole(AriaRole.Row).Filter(new() { HasText = "(rollback to 1)" });
            await Assertions.Expect(third.GetByText("current")).ToBeVisibleAsync();

            // The jobs list shows them all, filtered by project.
            await page.GotoAsync($"/ui/jobs?project={project}");
            await Assertions.Expect(page.GetByRole(AriaRole.Row).Filter(new() { HasText = "DEPLOY_COMPOSE" })).ToHaveCountAsync(3);
            await ConsoleFixture.ScreenshotAsync(page, "jobs");
            await page.GotoAsync("/ui/rollouts");
            await ConsoleFixture.ScreenshotAsync(page, "rollouts");
            await page.GotoAsync("/ui/projects");
            await ConsoleFixture.ScreenshotAsync(page, "projects");
        }
        finally
        {
            await ConsoleFixture.RemoveProjectAsync(project);
        }
    }

    private static async Task<string> HttpAsync(int port)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var body = "";
        await Eventually.TrueAsync(async () =>
        {
            try { body = await http.GetStringAsync($"http://127.0.0.1:{port}/"); return true; }
            catch (HttpRequestException) { return false; }
        }, TimeSpan.FromSeconds(30), $"the project to answer on port {port}");
        return body;
    }
}
