using System.Globalization;
using Microsoft.Playwright;

namespace InstaDeploy.Console.Tests.Browser;

/// <summary>
/// The fleet and projects pages of a fleet larger than a page: the first page, the count of the whole (online and
/// offline, placements by state), and "Next page" reaching the rest, a selector kept from page to page. On a control
/// plane of its own with 250 agents simulated on the wire protocol (labelled <c>tier=even</c>/<c>tier=odd</c> by index),
/// so that the other console tests see their own fleet of one; the shared browser drives it.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class PagingTests(ConsoleFixture console) : IAsyncLifetime
{
    private const int Agents = 250;
    private const int Offline = 3;

    private readonly ControlPlaneFactory _controlPlane = new(new Dictionary<string, string?>
    {
        ["INSTADEPLOY_CONSOLE_SIGN_IN_PER_MINUTE"] = "1000",
        ["INSTADEPLOY_RATE_LIMIT_PER_SECOND"] = "100000",
    });

    private SimulatedFleet _fleet = null!;
    private HttpClient _api = null!;

    private static string AgentId(int index) => $"page-{index:D3}";

    public async Task InitializeAsync()
    {
        _api = _controlPlane.CreateApiClient();
        _fleet = new SimulatedFleet(_controlPlane.WebSocketUrl, _controlPlane.AgentToken) { DeployTime = TimeSpan.FromMilliseconds(10) };
        for (var i = 0; i < Agents; i++) _fleet.Start(AgentId(i), $"tier={(i % 2 == 0 ? "even" : "odd")}");
        await _fleet.WaitConnectedAsync(Agents, TimeSpan.FromSeconds(120));
        await Eventually.TrueAsync(async () => (await _api.GetJsonAsync("/agents?selector=tier")).GetArrayLength() == Agents,
            TimeSpan.FromSeconds(60), "every simulated agent to be stored with its labels");
    }

    public async Task DisposeAsync()
    {
        await _fleet.DisposeAsync();
        _api.Dispose();
        await _controlPlane.DisposeAsync();
    }

    [Fact]
    public async Task TheFleetShowsItsFirstPageAndTheCountOfAllAndNextReachesTheRestKeepingTheSelector()
    {
        // Three odd agents go offline: the count of the whole says so, whichever page is shown.
        foreach (var i in new[] { 1, 3, 5 }) await _fleet.StopAgentAsync(AgentId(i));
        await Eventually.TrueAsync(async () => (await _api.GetJsonAsync("/agents")).EnumerateArray().Count(a => !a.GetProperty("online").GetBoolean()) == Offline,
            TimeSpan.FromSeconds(60), "the stopped agents to be offline");

        var (context, page) = await console.SignInAsync(baseUrl: _controlPlane.BaseAddress.ToString().TrimEnd('/'));
        await using var _ = context;
        await page.GotoAsync("/ui");
        var summary = page.Locator("[data-summary=fleet]");
        await Assertions.Expect(summary).ToContainTextAsync($"250 agents: {Agents - Offline} online, {Offline} offline. Showing 1–100 of 250");
        Assert.Equal(Range(0, 100), await AgentsShownAsync(page));
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "First page" })).ToHaveCountAsync(0);

        // Every agent once, page by page, by "Next page" (the link above the table and the one below go to the same page).
        await NextAsync(page);
        await Assertions.Expect(summary).ToContainTextAsync("Showing 101–200 of 250");
        Assert.Equal(Range(100, 200), await AgentsShownAsync(page));
        await NextAsync(page);
        await Assertions.Expect(summary).ToContainTextAsync("Showing 201–250 of 250");
        Assert.Equal(Range(200, 250), await AgentsShownAsync(page));
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Next page" })).ToHaveCountAsync(0);

        // With a selector: its 125 agents over two pages, the selector kept by "Next page" (followed by keyboard), and its
        // count its own (the three offline agents are odd).
        await page.GotoAsync("/ui");
        await page.GetByLabel("Selector").FillAsync("tier=even");
        await page.GetByLabel("Selector").PressAsync("Enter");
        await Assertions.Expect(summary).ToContainTextAsync("125 agents matching tier=even: 125 online, 0 offline. Showing 1–100 of 125");
        Assert.Equal(Range(0, 200).Where(i => i % 2 == 0).ToList(), await AgentsShownAsync(page));
        var next = page.GetByRole(AriaRole.Link, new() { Name = "Next page" }).First;
        await next.FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(summary).ToContainTextAsync("125 agents matching tier=even: 125 online, 0 offline. Showing 101–125 of 125");
        Assert.Equal(Range(200, 250).Where(i => i % 2 == 0).ToList(), await AgentsShownAsync(page));
        await Assertions.Expect(page.GetByLabel("Selector")).ToHaveValueAsync("tier=even");
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Next page" })).ToHaveCountAsync(0);
        await Pages.AssertControlsLabelledAsync(page);
        await ConsoleFixture.ScreenshotAsync(page, "fleet-paged");

        // "First page" goes back to the start of the same selection.
        await page.GetByRole(AriaRole.Link, new() { Name = "First page" }).First.ClickAsync();
        await Assertions.Expect(summary).ToContainTextAsync("Showing 1–100 of 125");
        Assert.Equal(0, (await AgentsShownAsync(page))[0]);

        // A cursor cut by hand is a clear error, not a page that starts somewhere else.
        var response = await page.GotoAsync("/ui/fleet?cursor=not-a-cursor");
        Assert.Equal(400, response!.Status);
        await Assertions.Expect(page.Locator("main")).ToContainTextAsync("cursor");
    }

    [Fact]
    public async Task TheProjectsPageShowsItsFirstPageAndTheCountOfAllAndNextReachesTheRest()
    {
        // 150 placements: one project on the first 120 agents, another on the next 30.
        var compose = Convert.ToBase64String("services:\n  web:\n    image: local/busybox:1\n    command: [\"sleep\", \"60\"]\n"u8.ToArray());
        var (first, second) = ("pg-alpha-" + ConsoleFixture.Run, "pg-beta-" + ConsoleFixture.Run);
        var deploys = Enumerable.Range(0, 120).Select(i => (first, i)).Concat(Enumerable.Range(120, 30).Select(i => (second, i)));
        await Parallel.ForEachAsync(deploys, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (d, token) =>
        {
            using var response = await _api.PostJsonAsync("/deploy", new { project_name = d.Item1, agent_id = AgentId(d.Item2), compose_file_base64 = compose, health_wait_seconds = 0 });
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(token));
        });
        await Eventually.TrueAsync(async () => (await _api.GetJsonAsync("/deployments")).EnumerateArray().Count(d => d.GetProperty("state").GetString() == "running") == 150,
            TimeSpan.FromSeconds(120), "every placement to be running");

        var (context, page) = await console.SignInAsync(baseUrl: _controlPlane.BaseAddress.ToString().TrimEnd('/'));
        await using var _ = context;
        await page.GotoAsync("/ui/projects");
        var summary = page.Locator("[data-summary=projects]");
        await Assertions.Expect(summary).ToContainTextAsync("150 placements of 2 projects: 150 running. Showing 1–100 of 150");
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (first, AgentId(i))).ToList(), await PlacementsShownAsync(page));

        await NextAsync(page);
        await Assertions.Expect(summary).ToContainTextAsync("Showing 101–150 of 150");
        // The first project's last 20 rows, headed by its name again, then the second project's 30.
        Assert.Equal(Enumerable.Range(100, 20).Select(i => (first, AgentId(i))).Concat(Enumerable.Range(120, 30).Select(i => (second, AgentId(i)))).ToList(),
            await PlacementsShownAsync(page));
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = first, Exact = true })).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Next page" })).ToHaveCountAsync(0);
        await Pages.AssertControlsLabelledAsync(page);
    }

    private static List<int> Range(int from, int to) => [.. Enumerable.Range(from, to - from)];

    private static async Task NextAsync(IPage page)
    {
        var before = page.Url;
        await page.GetByRole(AriaRole.Link, new() { Name = "Next page" }).Last.ClickAsync();
        await page.WaitForURLAsync(url => url != before);
    }

    /// <summary>The index of each agent the fleet table shows, in order.</summary>
    private static async Task<List<int>> AgentsShownAsync(IPage page) =>
        [.. (await page.Locator("table tbody tr th[scope=row] a").AllInnerTextsAsync()).Select(id => int.Parse(id["page-".Length..], CultureInfo.InvariantCulture))];

    /// <summary>(project, agent) of each placement row the projects table shows, in order (a project's name heads its first row).</summary>
    private static async Task<List<(string, string)>> PlacementsShownAsync(IPage page)
    {
        var rows = await page.Locator("table tbody tr").EvaluateAllAsync<string[][]>("""
            rows => { let project = ''; return rows.map(r => { const head = r.querySelector('th a'); if (head) project = head.textContent; return [project, r.querySelector('td a').textContent]; }); }
            """);
        return [.. rows.Select(r => (r[0], r[1]))];
    }
}
