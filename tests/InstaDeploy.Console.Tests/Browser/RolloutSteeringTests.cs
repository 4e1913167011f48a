using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace InstaDeploy.Console.Tests.Browser;

/// <summary>A rollout started from an uploaded compose file and steered from its page: the canary gate and promote, pause, resume and cancel, each seen live in the
/// page and in the REST API's answer. The targets are agents simulated on the wire protocol (their deploys take 300 ms
/// and run nothing), so the rollout's timing is the test's.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class RolloutSteeringTests(ConsoleFixture fleet)
{
    [Fact]
    public async Task ARolloutIsPromotedPausedResumedAndCancelledFromItsPageWithEveryTargetsProgressLive()
    {
        var role = "sim-" + ConsoleFixture.Run;
        await using var simulated = new SimulatedFleet(fleet.ControlPlane.WebSocketUrl, fleet.ControlPlane.AgentToken) { DeployTime = TimeSpan.FromMilliseconds(300) };
        for (var i = 0; i < 3; i++) simulated.Start($"{role}-{i}", $"role={role}");
        await simulated.WaitConnectedAsync(3, TimeSpan.FromSeconds(30));
        await Eventually.TrueAsync(async () => (await fleet.Api.GetJsonAsync($"/agents?selector=role={role}")).GetArrayLength() == 3,
            TimeSpan.FromSeconds(30), "the simulated agents to be stored with their labels");

        var (context, page) = await fleet.SignInAsync();
        await using var _ = context;
        await page.GotoAsync("/ui/deploy");
        await page.GetByLabel("Project name").FillAsync(ConsoleFixture.Project("steer"));
        // The compose file uploaded rather than pasted: the rollout deploys exactly its bytes.
        var compose = System.Text.Encoding.UTF8.GetBytes(ComposeFiles.Web("s1", 1));
        await page.GetByLabel("…or upload it").SetInputFilesAsync(new FilePayload { Name = "docker-compose.yml", MimeType = "text/yaml", Buffer = compose });
        await page.GetByLabel("Every agent a selector matches (rollout)").CheckAsync();
        await page.GetByLabel("Selector", new() { Exact = true }).FillAsync($"role={role}");
        await page.GetByText("Rollout strategy (with a selector)").ClickAsync();
        await page.GetByLabel("Canaries first").FillAsync("1");
        // A long wait between batches keeps the rollout open while the test steers it.
        await page.GetByLabel("Wait between batches (seconds)").FillAsync("600");
        await page.GetByLabel("Health wait (seconds)").FillAsync("0");
        await page.GetByRole(AriaRole.Button, new() { Name = "Deploy", Exact = true }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/ui/rollouts/ro-"));
        var id = page.Url[(page.Url.LastIndexOf('/') + 1)..];
        var state = page.GetByTestId("rollout-state");
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(compose)),
            (await fleet.Api.GetJsonAsync($"/rollouts/{id}")).GetProperty("compose_sha256").GetString());

        // The canary deploys and the rollout stops at the gate, without a reload; resume is not offered there.
        await Assertions.Expect(Row(page, $"{role}-0").GetByText("succeeded")).ToBeVisibleAsync(new() { Timeout = 60_000 });
        await Assertions.Expect(state).ToContainTextAsync("paused (canaries await promotion)", new() { Timeout = 30_000 });
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Resume" })).ToHaveCountAsync(0);
        await Assertions.Expect(Row(page, $"{role}-1").GetByText("waiting")).ToBeVisibleAsync();
        await Pages.AssertControlsLabelledAsync(page);

        await page.GetByRole(AriaRole.Button, new() { Name = "Promote canaries" }).ClickAsync();
        await Assertions.Expect(state).ToContainTextAsync("running", new() { Timeout = 30_000 });
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Promote canaries" })).ToHaveCountAsync(0);
        Assert.True((await fleet.Api.GetJsonAsync($"/rollouts/{id}")).GetProperty("strategy").GetProperty("promoted").GetBoolean());

        await page.GetByRole(AriaRole.Button, new() { Name = "Pause" }).ClickAsync();
        await Assertions.Expect(state).ToContainTextAsync("paused", new() { Timeout = 30_000 });
        Assert.Equal("paused", (await fleet.Api.GetJsonAsync($"/rollouts/{id}")).GetProperty("state").GetString());

        await page.GetByRole(AriaRole.Button, new() { Name = "Resume" }).ClickAsync();
        await Assertions.Expect(state).ToContainTextAsync("running", new() { Timeout = 30_000 });

        await page.GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();
        await Assertions.Expect(state).ToContainTextAsync("cancelled", new() { Timeout = 30_000 });
        await Assertions.Expect(page.GetByRole(AriaRole.Group, new() { Name = "Steer the rollout" })).ToHaveCountAsync(0);
        var ended = await fleet.Api.GetJsonAsync($"/rollouts/{id}");
        Assert.Equal("cancelled", ended.GetProperty("state").GetString());
        // Only the canary was ever sent a deploy: the other two waited behind the gate and the batch wait.
        Assert.Equal(1, ended.GetProperty("counts").GetProperty("succeeded").GetInt32());
        Assert.Equal(0, simulated.Received[$"{role}-1"].Count(j => j.Type == "DEPLOY_COMPOSE") + simulated.Received[$"{role}-2"].Count(j => j.Type == "DEPLOY_COMPOSE"));
    }

    private static ILocator Row(IPage page, string agent) => page.GetByRole(AriaRole.Row).Filter(new() { HasText = agent });
}
