using System.Text;
using System.Text.Json;

namespace InstaDeploy.ControlPlane.Tests.Rollouts;

/// <summary>
/// The real control plane (Kestrel, SQLite) with 200 simulated agents speaking the wire protocol, labelled
/// <c>role=web</c> and <c>zone=a..d</c> (by index) and <c>index=N</c>. A deploy of a project whose name starts with
/// <c>fail-</c> fails on the agents whose index is in <see cref="Failing"/>, as a health gate would.
/// </summary>
public sealed class SimulatedFleetFixture : IAsyncLifetime
{
    public const int Size = 200;

    public ControlPlaneFactory ControlPlane { get; } = new(new Dictionary<string, string?>
    {
        ["INSTADEPLOY_RATE_LIMIT_PER_SECOND"] = "100000",
        ["INSTADEPLOY_DB_SYNCHRONOUS"] = "NORMAL",
    });

    public SimulatedFleet Fleet { get; private set; } = null!;

    public HttpClient Api { get; private set; } = null!;

    /// <summary>Indexes of the agents whose deploys of a fail-* project fail.</summary>
    public HashSet<int> Failing { get; } = [];

    public static string AgentId(int index) => $"sim-{index:D3}";

    public async Task InitializeAsync()
    {
        Api = ControlPlane.CreateApiClient();
        Fleet = new SimulatedFleet(ControlPlane.WebSocketUrl, ControlPlane.AgentToken)
        {
            Outcome = (agent, type, payload) =>
                type == "DEPLOY_COMPOSE" && payload.GetProperty("project_name").GetString()!.StartsWith("fail-", StringComparison.Ordinal)
                    && Failing.Contains(int.Parse(agent[4..], System.Globalization.CultureInfo.InvariantCulture))
                    ? ("FAILED", "container web did not become healthy within the health wait")
                    : ("COMPLETED", ""),
        };
        for (var i = 0; i < Size; i++) Fleet.Start(AgentId(i), $"role=web,zone={(char)('a' + i % 4)},index={i}");
        await Fleet.WaitConnectedAsync(Size, TimeSpan.FromSeconds(60));
        await Eventually.TrueAsync(async () => (await Api.GetJsonAsync("/agents?selector=role=web")).GetArrayLength() == Size,
            TimeSpan.FromSeconds(30), "every simulated agent to be stored with its labels");
    }

    public async Task DisposeAsync()
    {
        await Fleet.DisposeAsync();
        Api.Dispose();
        await ControlPlane.DisposeAsync();
    }

    public static string Compose(string marker) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"services:\n  web:\n    image: local/busybox:1\n    command: [\"echo\", \"{marker}\"]\n"));

    public async Task<JsonElement> CreateAsync(object body)
    {
        using var response = await Api.PostJsonAsync("/rollouts", body);
        var json = await response.ReadJsonAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Created, json.GetRawText());
        Assert.Equal($"/rollouts/{json.GetProperty("rollout_id").GetString()}", response.Headers.Location?.ToString());
        return json;
    }

    public async Task<JsonElement> WaitAsync(string rolloutId, Func<JsonElement, bool> until, string what, TimeSpan? timeout = null)
    {
        JsonElement rollout = default;
        await Eventually.TrueAsync(async () => until(rollout = await Api.GetJsonAsync($"/rollouts/{rolloutId}")), timeout ?? TimeSpan.FromSeconds(90),
            $"rollout {rolloutId} {what} (last seen: {(rollout.ValueKind == JsonValueKind.Object ? rollout.GetProperty("state").GetString() + " " + rollout.GetProperty("reason").GetString() : "nothing")})");
        return rollout;
    }

    public static string State(JsonElement rollout) => rollout.GetProperty("state").GetString()!;

    public static int Count(JsonElement rollout, string state) => rollout.GetProperty("counts").GetProperty(state).GetInt32();
}
