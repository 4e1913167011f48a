using Microsoft.Playwright;

namespace InstaDeploy.Console.Tests.Browser;

/// <summary>
/// A real control plane (real Kestrel, real SQLite) with the console, a real agent with the built-in plugins on the real
/// Docker engine, and Debian's Chromium driven by Playwright (its own executable: no browser download), headless.
/// The browser reaches the control plane through a TCP proxy the tests can cut.
/// </summary>
public sealed class ConsoleFixture : IAsyncLifetime
{
    public const string AgentId = "console-agent";

    /// <summary>This run's own suffix for compose projects on the shared engine.</summary>
    public static readonly string Run = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3));

    private IPlaywright? _playwright;

    public ControlPlaneFactory ControlPlane { get; } = new(new Dictionary<string, string?>
    {
        // The tests sign in many times from one address.
        ["INSTADEPLOY_CONSOLE_SIGN_IN_PER_MINUTE"] = "1000",
    });

    public TestAgent Agent { get; private set; } = null!;

    public HttpClient Api { get; private set; } = null!;

    public TcpCutProxy Proxy { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>The console as the browser reaches it: through the proxy.</summary>
    public string BaseUrl => $"http://127.0.0.1:{Proxy.Port}";

    public static string Project(string name) => $"ui-{name}-{Run}";

    public async Task InitializeAsync()
    {
        await DockerCli.EnsureEngineAndExampleImageAsync();
        Api = ControlPlane.CreateApiClient();
        Proxy = new TcpCutProxy(ControlPlane.BaseAddress.Port);
        Agent = await TestAgent.StartAsync(ControlPlane.WebSocketUrl, ControlPlane.AgentToken, AgentId, new Dictionary<string, string?> { ["AGENT_LABELS"] = "role=web,region=eu" });
        await Api.WaitForAgentOnlineAsync(AgentId);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            // Background networking, updates and sync would try hosts this machine cannot reach.
            Args = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
    }

    public static string ChromiumPath =>
        File.Exists("/usr/bin/chromium") ? "/usr/bin/chromium"
        : throw new InvalidOperationException("Debian's Chromium is not installed: run bash eng/setup-chromium.sh (bash eng/test.sh does).");

    /// <summary>A fresh browser context (its own cookies) with a page, signed in with <paramref name="apiKey"/> through the form;
    /// on this fixture's control plane, or the one at <paramref name="baseUrl"/>.</summary>
    public async Task<(IBrowserContext Context, IPage Page)> SignInAsync(string apiKey = ControlPlaneFactory.AdminApiKey, string? baseUrl = null)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = baseUrl ?? BaseUrl, ViewportSize = new ViewportSize { Width = 1360, Height = 900 } });
        context.SetDefaultTimeout(30_000);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/");
        await page.GetByLabel("API key").FillAsync(apiKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.WaitForURLAsync(url => !url.Contains("/ui/sign-in"));
        return (context, page);
    }

    /// <summary>A key with these scopes, made over REST.</summary>
    public async Task<(string Id, string Key)> CreateKeyAsync(string name, params string[] scopes)
    {
        using var response = await Api.PostJsonAsync("/api-keys", new { name, scopes });
        response.EnsureSuccessStatusCode();
        var body = await response.ReadJsonAsync();
        return (body.GetProperty("id").GetString()!, body.GetProperty("key").GetString()!);
    }

    /// <summary>Saves the page as docs/ui/{name}.png (README links them).</summary>
    public static async Task ScreenshotAsync(IPage page, string name)
    {
        var folder = Path.Combine(DockerCli.RepositoryRoot(), "docs", "ui");
        Directory.CreateDirectory(folder);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(folder, name + ".png"), FullPage = true });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        _playwright?.Dispose();
        await Agent.DisposeAsync();
        await Proxy.DisposeAsync();
        Api.Dispose();
        await ControlPlane.DisposeAsync();
    }

    /// <summary>Takes a compose project down on the engine (containers and network) whatever the test left.</summary>
    public static async Task RemoveProjectAsync(string project)
    {
        foreach (var name in await DockerCli.ContainersOfProjectAsync(project)) await DockerCli.RunAsync("rm", "-f", name);
        await DockerCli.RunAsync("network", "rm", $"{project}_default");
    }
}

[CollectionDefinition(Name)]
public sealed class ConsoleCollection : ICollectionFixture<ConsoleFixture>
{
    public const string Name = "console";
}
