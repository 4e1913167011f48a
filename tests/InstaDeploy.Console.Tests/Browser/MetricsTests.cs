using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace InstaDeploy.Console.Tests.Browser;

/// <summary>A real agent's host and container metrics in the console: CPU, memory and disk on the fleet list, and on the
/// agent's page its containers' CPU and memory, a container the test deployed among them.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class MetricsTests(ConsoleFixture fleet)
{
    private static readonly Regex Percent = new(@"^\d+(\.\d)? %$");
    private static readonly Regex Size = new(@"\d+(\.\d)? (B|KiB|MiB|GiB|TiB)");

    /// <summary>Reloads <paramref name="path"/> until <paramref name="shown"/> holds (the page is rendered on the server;
    /// the agent samples every AGENT_METRICS_SECONDS, 10 by default).</summary>
    private static async Task ReloadUntilAsync(IPage page, string path, Func<Task<bool>> shown, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            await page.GotoAsync(path);
            if (await shown()) return;
            if (DateTime.UtcNow > deadline) Assert.Fail($"{what} never appeared on {path}: {await page.Locator("main").InnerTextAsync()}");
            await Task.Delay(1000);
        }
    }

    [Fact]
    public async Task TheFleetShowsEachAgentsCpuMemoryAndDiskAndTheAgentPageItsContainers()
    {
        var project = ConsoleFixture.Project("metrics");
        try
        {
            // A container of our own on the agent, so that its page has one to show whatever else the engine runs.
            using (var deployed = await fleet.Api.PostJsonAsync("/deploy", new
            {
                project_name = project, agent_id = ConsoleFixture.AgentId,
                compose_file_base64 = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("services:\n  idle:\n    image: local/busybox:1\n    command: [\"sleep\", \"3600\"]\n    init: true\n")),
            }))
            {
                Assert.True(deployed.IsSuccessStatusCode, await deployed.Content.ReadAsStringAsync());
                var job = await fleet.Api.WaitForJobAsync((await deployed.ReadJsonAsync()).GetProperty("job_id").GetString()!, TimeSpan.FromSeconds(120));
                Assert.True(job.GetProperty("status").GetString() == "COMPLETED", job.GetRawText());
            }
            var (context, page) = await fleet.SignInAsync();
            await using var _ = context;

            var row = page.GetByRole(AriaRole.Row).Filter(new() { HasText = ConsoleFixture.AgentId });
            await ReloadUntilAsync(page, "/ui/fleet", async () => Percent.IsMatch((await row.Locator("[data-metric=cpu]").InnerTextAsync()).Trim()), "the agent's CPU");
            Assert.Matches(Size, await row.Locator("[data-metric=memory]").InnerTextAsync());
            Assert.Matches(Size, await row.Locator("[data-metric=disk]").InnerTextAsync());
            Assert.Contains("free of", await row.Locator("[data-metric=disk]").InnerTextAsync());

            var agentPage = $"/ui/fleet/{ConsoleFixture.AgentId}";
            var ours = page.GetByRole(AriaRole.Table, new() { Name = "Containers" }).GetByRole(AriaRole.Row).Filter(new() { HasText = project });
            // Its first sample has no CPU yet (docker stats needs two readings); its memory is there at once.
            await ReloadUntilAsync(page, agentPage, async () => await ours.CountAsync() == 1 && Percent.IsMatch((await ours.Locator("[data-metric=cpu]").InnerTextAsync()).Trim()),
                $"a container of {project} with its CPU");
            Assert.Matches(Size, await ours.Locator("[data-metric=memory]").InnerTextAsync());
            Assert.Matches(new Regex(@"^\d+(\.\d)? % of \d+ CPUs$"), (await page.Locator("dd[data-metric=cpu]").InnerTextAsync()).Trim());
            Assert.Contains("used of", await page.Locator("dd[data-metric=memory]").InnerTextAsync());
            await Pages.AssertControlsLabelledAsync(page);
        }
        finally
        {
            await ConsoleFixture.RemoveProjectAsync(project);
        }
    }
}
