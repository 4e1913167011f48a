using Microsoft.Playwright;

namespace InstaDeploy.Console.Tests.Browser;

/// <summary>The console by keyboard alone: no mouse, only Tab, typing and Enter, with the focus always visible.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class KeyboardTests(ConsoleFixture fleet)
{
    [Fact]
    public async Task AnOperatorSignsInFiltersTheFleetAndOpensAnAgentByKeyboardAlone()
    {
        var context = await fleet.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = fleet.BaseUrl });
        await using var _ = context;
        var page = await context.NewPageAsync();
        await page.GotoAsync("/");

        // The key field has the focus on arrival; Enter submits the form.
        await Assertions.Expect(page.GetByLabel("API key")).ToBeFocusedAsync();
        await page.Keyboard.TypeAsync(ControlPlaneFactory.AdminApiKey);
        await page.Keyboard.PressAsync("Enter");
        await page.WaitForURLAsync(url => !url.Contains("/ui/sign-in"));

        // The page puts the focus on its heading (FocusOnNavigate); Tab from there goes on through its controls, each with a
        // visible focus ring.
        await page.Keyboard.PressAsync("Tab");
        await AssertFocusVisibleAsync(page);

        // Through the header to the selector field; typing a selector and Enter filters the fleet.
        var selector = page.GetByLabel("Selector");
        await TabToAsync(page, selector);
        await AssertFocusVisibleAsync(page);
        await page.Keyboard.TypeAsync("role=web");
        await page.Keyboard.PressAsync("Enter");
        await page.WaitForURLAsync(url => url.Contains("selector=role%3Dweb", StringComparison.Ordinal) || url.Contains("selector=role=web", StringComparison.Ordinal));
        await Assertions.Expect(page.GetByRole(AriaRole.Row).Filter(new() { HasText = ConsoleFixture.AgentId })).ToBeVisibleAsync();

        // On to the agent's link, and Enter opens its page.
        await TabToAsync(page, page.GetByRole(AriaRole.Link, new() { Name = ConsoleFixture.AgentId, Exact = true }));
        await AssertFocusVisibleAsync(page);
        await page.Keyboard.PressAsync("Enter");
        await page.WaitForURLAsync($"**/ui/fleet/{ConsoleFixture.AgentId}");
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Run health check" })).ToBeVisibleAsync();
    }

    /// <summary>Presses Tab until <paramref name="target"/> has the focus (at most 60 times: then the test fails).</summary>
    private static async Task TabToAsync(IPage page, ILocator target)
    {
        for (var i = 0; i < 60; i++)
        {
            await page.Keyboard.PressAsync("Tab");
            if (await target.EvaluateAsync<bool>("el => el === document.activeElement")) return;
        }
        Assert.Fail($"Tab never reached {target}");
    }

    private static async Task AssertFocusVisibleAsync(IPage page)
    {
        var outline = await page.EvaluateAsync<string>("() => getComputedStyle(document.activeElement).outlineStyle");
        Assert.Equal("solid", outline);
    }
}
