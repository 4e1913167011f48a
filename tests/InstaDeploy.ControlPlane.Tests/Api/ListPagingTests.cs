using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace InstaDeploy.ControlPlane.Tests.Api;

/// <summary>
/// Every list endpoint pages with a keyset cursor: walking the pages by their Link headers gives each item exactly once,
/// in the list's order, with the filter kept; a cursor of another list, a cut or edited one, or a bad limit is a 400 that
/// names the field.
/// </summary>
public sealed class ListPagingTests : IAsyncLifetime
{
    private static readonly string Compose = Convert.ToBase64String(Encoding.UTF8.GetBytes("services:\n  web:\n    image: local/busybox:1\n"));
    private static readonly string[] AgentIds = ["pg-a", "pg-b", "pg-c", "pg-d", "pg-e"];

    private readonly ControlPlaneFactory _controlPlane = new(new Dictionary<string, string?> { ["INSTADEPLOY_RATE_LIMIT_PER_SECOND"] = "1000" });
    private readonly List<SeedAgent> _agents = [];
    private HttpClient _api = null!;

    public async Task InitializeAsync()
    {
        _api = _controlPlane.CreateApiClient();
        foreach (var id in AgentIds)
        {
            var agent = new SeedAgent((_, _, _) => ("COMPLETED", "", ""));
            _agents.Add(agent);
            await agent.ConnectAsync(_controlPlane.WebSocketUrl, _controlPlane.AgentToken, id);
        }
        foreach (var id in AgentIds) await _api.WaitForAgentOnlineAsync(id);
        foreach (var id in new[] { "pg-b", "pg-d", "pg-e" })
            (await _api.PutAsJsonAsync($"/agents/{id}/labels", new { labels = new Dictionary<string, string?> { ["role"] = "web" } })).EnsureSuccessStatusCode();
    }

    public async Task DisposeAsync()
    {
        foreach (var agent in _agents) await agent.DisposeAsync();
        _api.Dispose();
        await _controlPlane.DisposeAsync();
    }

    private async Task DeployAsync(string project, string agentId)
    {
        using var response = await _api.PostJsonAsync("/deploy", new { project_name = project, agent_id = agentId, compose_file_base64 = Compose });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        await _api.WaitForJobAsync((await response.ReadJsonAsync()).GetProperty("job_id").GetString()!);
    }

    /// <summary>A rollout to pg-e, waited for to its end (a project has one rollout at a time).</summary>
    private async Task RolloutAsync(string project)
    {
        using var created = await _api.PostJsonAsync("/rollouts", new { project_name = project, compose_file_base64 = Compose, targets = new { agent_ids = new[] { "pg-e" } } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = Text(await created.ReadJsonAsync(), "rollout_id");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Text(await _api.GetJsonAsync($"/rollouts/{id}"), "state") is not ("succeeded" or "failed" or "rolled_back" or "cancelled"))
        {
            Assert.True(DateTime.UtcNow < deadline, $"rollout {id} did not end");
            await Task.Delay(50);
        }
    }

    /// <summary>Every page of <paramref name="path"/> by its Link headers; the items, and how many pages there were.</summary>
    private async Task<(List<JsonElement> Items, int Pages)> WalkAsync(string path, Func<JsonElement, IEnumerable<JsonElement>>? items = null)
    {
        items ??= page => page.EnumerateArray();
        var all = new List<JsonElement>();
        var pages = 0;
        string? next = path;
        while (next is not null)
        {
            using var response = await _api.GetAsync(next);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            all.AddRange(items(await response.ReadJsonAsync()));
            pages++;
            next = response.Headers.TryGetValues("Link", out var link) ? link.Single().Split('>')[0].TrimStart('<') : null;
            if (next is not null) Assert.Equal(response.Headers.GetValues("X-Next-Cursor").Single(), Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(new Uri(new Uri("http://x"), next).Query)["cursor"].Single());
            Assert.True(pages < 100, "the pages never end");
        }
        return (all, pages);
    }

    /// <summary>Walks <paramref name="path"/> two at a time and checks it gives what one big page gives, each item once.</summary>
    private async Task<List<string>> AssertPagesCoverAsync(string path, Func<JsonElement, string> key, int expected, Func<JsonElement, IEnumerable<JsonElement>>? items = null)
    {
        var separator = path.Contains('?') ? '&' : '?';
        var (whole, onePage) = await WalkAsync($"{path}{separator}limit=1000", items);
        Assert.Equal(1, onePage);
        var (paged, pages) = await WalkAsync($"{path}{separator}limit=2", items);
        var wholeKeys = whole.Select(key).ToList();
        var pagedKeys = paged.Select(key).ToList();
        if (expected >= 0) Assert.Equal(expected, wholeKeys.Count);
        Assert.Equal(wholeKeys, pagedKeys);
        Assert.Equal(pagedKeys.Count, pagedKeys.Distinct().Count());
        Assert.True(pages >= expected / 2, $"{path}: {pages} pages for {expected} items, two a page");
        return pagedKeys;
    }

    private async Task AssertRefusedAsync(string path, string field)
    {
        using var response = await _api.GetAsync(path);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.ReadJsonAsync()).GetProperty("errors").TryGetProperty(field, out _), $"{path} names {field}");
    }

    private async Task<string> FirstCursorAsync(string path)
    {
        using var response = await _api.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return response.Headers.GetValues("X-Next-Cursor").Single();
    }

    private static string Text(JsonElement e, string name) => e.GetProperty(name).GetString()!;

    private static string Tampered(string cursor)
    {
        // Another position of the same list, spelled as this list spells it, but not one the server gave.
        var chars = cursor.ToCharArray();
        var at = cursor.IndexOf('.', StringComparison.Ordinal) / 2;
        chars[at] = chars[at] == 'A' ? 'B' : 'A';
        return new string(chars);
    }

    [Fact]
    public async Task EveryListPagesOnceInOrderWithItsFilterAndRefusesOtherCursors()
    {
        foreach (var (project, agent) in new[] { ("alpha", "pg-a"), ("alpha", "pg-b"), ("alpha", "pg-a"), ("beta", "pg-b"), ("beta", "pg-c"), ("gamma", "pg-a"), ("alpha", "pg-a") })
            await DeployAsync(project, agent);
        for (var i = 0; i < 3; i++)
        {
            (await _api.PostJsonAsync("/api-keys", new { name = $"paging-{i}", scopes = new[] { "read" } })).EnsureSuccessStatusCode();
            (await _api.PostJsonAsync("/enrollment-tokens", new { name = $"paging-{i}", expires_in_seconds = 3600, uses = 1 })).EnsureSuccessStatusCode();
            (await _api.PutAsJsonAsync($"/registries/reg{i}.example.com", new { username = "bot", password = "secret-" + i })).EnsureSuccessStatusCode();
            (await _api.PostJsonAsync("/webhooks", new { name = $"hook {i}", project_name = i == 2 ? "beta" : "alpha" })).EnsureSuccessStatusCode();
            await RolloutAsync(i == 2 ? "beta" : "alpha");
        }

        // Agents by id, and the selector's matches only.
        Assert.Equal(AgentIds, await AssertPagesCoverAsync("/agents", a => Text(a, "id"), 5));
        Assert.Equal(["pg-b", "pg-d", "pg-e"], await AssertPagesCoverAsync("/agents?selector=role%3Dweb", a => Text(a, "id"), 3));
        var (one, pages) = await WalkAsync("/agents?selector=role%3Dweb&limit=1");
        Assert.Equal(["pg-b", "pg-d", "pg-e"], one.Select(a => Text(a, "id")));
        Assert.Equal(4, pages); // three full pages, then the empty one that says there are no more

        // Placements by project then agent; one agent's.
        Assert.Equal(["alpha@pg-a", "alpha@pg-b", "alpha@pg-e", "beta@pg-b", "beta@pg-c", "beta@pg-e", "gamma@pg-a"],
            await AssertPagesCoverAsync("/deployments", d => $"{Text(d, "project_name")}@{Text(d, "agent_id")}", 7));
        Assert.Equal(["alpha@pg-b", "beta@pg-b"], await AssertPagesCoverAsync("/deployments?agent_id=pg-b", d => $"{Text(d, "project_name")}@{Text(d, "agent_id")}", 2));

        // A project's revisions newest first (the rollouts made 5 and 6); on one agent.
        Assert.Equal(["6", "5", "4", "3", "2", "1"], await AssertPagesCoverAsync("/deployments/alpha/revisions", r => r.GetProperty("revision").ToString(), 6));
        Assert.Equal(["4", "3", "1"], await AssertPagesCoverAsync("/deployments/alpha/revisions?agent_id=pg-a", r => r.GetProperty("revision").ToString(), 3));

        // Rollouts newest first; of one project.
        var rollouts = await AssertPagesCoverAsync("/rollouts", r => Text(r, "rollout_id"), 3);
        Assert.Equal(rollouts.Where((_, i) => i != 0), await AssertPagesCoverAsync("/rollouts?project_name=alpha", r => Text(r, "rollout_id"), 2));

        // Keys, tokens and webhooks oldest first; registries by host.
        var keys = await AssertPagesCoverAsync("/api-keys", k => Text(k, "name"), 4); // the admin key the test runs with, then these three
        Assert.Equal(["paging-0", "paging-1", "paging-2"], keys.Skip(1));
        Assert.Equal(["paging-0", "paging-1", "paging-2"], await AssertPagesCoverAsync("/enrollment-tokens", t => Text(t, "name"), 3));
        Assert.Equal(["reg0.example.com", "reg1.example.com", "reg2.example.com"], await AssertPagesCoverAsync("/registries", r => Text(r, "host"), 3));
        Assert.Equal(["hook 0", "hook 1", "hook 2"], await AssertPagesCoverAsync("/webhooks", w => Text(w, "name"), 3));
        Assert.Equal(["hook 0", "hook 1"], await AssertPagesCoverAsync("/webhooks?project_name=alpha", w => Text(w, "name"), 2));

        // The audit log newest first, by cursor as by next_before; one action's.
        IEnumerable<JsonElement> entries(JsonElement page) => page.GetProperty("entries").EnumerateArray();
        var deploys = await AssertPagesCoverAsync("/audit?action=deploy", e => e.GetProperty("id").ToString(), -1, entries);
        Assert.True(deploys.Count >= 7, $"{deploys.Count} deploy entries");
        Assert.Equal(deploys.OrderByDescending(long.Parse), deploys);
        var audit = await _api.GetJsonAsync("/audit?action=deploy&limit=3");
        var before = audit.GetProperty("next_before").GetInt64();
        Assert.Equal(deploys.Skip(3).Take(3), (await _api.GetJsonAsync($"/audit?action=deploy&limit=3&before={before}")).GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("id").ToString()));

        // A cursor is for its own list only, as it was given; a limit out of range says the range.
        var lists = new[] { "/jobs", "/agents", "/deployments", "/deployments/alpha/revisions", "/rollouts", "/audit", "/api-keys", "/enrollment-tokens", "/registries", "/webhooks" };
        var cursors = new Dictionary<string, string>();
        foreach (var list in lists) cursors[list] = await FirstCursorAsync($"{list}?limit=1");
        foreach (var list in lists)
        {
            var other = cursors[lists[(Array.IndexOf(lists, list) + 1) % lists.Length]];
            await AssertRefusedAsync($"{list}?cursor={Uri.EscapeDataString(other)}", "cursor");
            await AssertRefusedAsync($"{list}?cursor={Uri.EscapeDataString(Tampered(cursors[list]))}", "cursor");
            await AssertRefusedAsync($"{list}?cursor={Uri.EscapeDataString(cursors[list][..^2])}", "cursor");
            await AssertRefusedAsync($"{list}?cursor=not-a-cursor", "cursor");
            await AssertRefusedAsync($"{list}?limit=0", "limit");
            await AssertRefusedAsync($"{list}?limit=1001", "limit");
        }
        // One project's revision cursor is not another's.
        var betaCursor = await FirstCursorAsync("/deployments/beta/revisions?limit=1");
        await AssertRefusedAsync($"/deployments/alpha/revisions?cursor={Uri.EscapeDataString(betaCursor)}", "cursor");
    }
}
