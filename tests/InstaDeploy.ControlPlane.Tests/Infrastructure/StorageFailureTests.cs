using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace InstaDeploy.ControlPlane.Tests.Infrastructure;

/// <summary>
/// The control plane's data folder on a small tmpfs that fills up (and, in the second test, turns read-only): writes are
/// answered 503 with problem details saying what happened and what to do, reads go on, /health is unhealthy with the
/// reason, and once the disk is freed both recover by themselves with nothing lost and nothing half-written.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class StorageFailureTests
{
    private static async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> PutVariableAsync(HttpClient api, string name)
    {
        var response = await api.PutAsJsonAsync($"/deployments/app/env/{name}", new { value = new string('v', 3000) }, InstaDeploy.Testing.Api.Json);
        return (response.StatusCode, await response.ReadJsonAsync(), response);
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> HealthAsync(HttpClient api)
    {
        using var response = await api.GetAsync("/health");
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    private static async Task<string[]> VariableNamesAsync(HttpClient api) =>
        [.. (await api.GetJsonAsync("/deployments/app/env")).GetProperty("variables").EnumerateArray().Select(v => v.GetProperty("name").GetString()!).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task AFullDiskIsAnswered503WithTheReasonAndEverythingRecoversWithNothingLost()
    {
        await using var disk = await SmallDisk.MountAsync(24);
        await using var controlPlane = new ControlPlaneFactory(new Dictionary<string, string?>
        {
            [ControlPlaneFactory.SqliteSetting] = "", // the SQLite file's disk (PostgreSQL down: EndToEnd ThreeInstancesTests)
            ["INSTADEPLOY_DATA_DIR"] = Path.Combine(disk.Path, "data"),
            ["INSTADEPLOY_MIN_FREE_DISK_MB"] = "1",
        });
        using var api = controlPlane.CreateApiClient();
        await using var agent = new SeedAgent((_, type, _) => ("COMPLETED", $"{type} done\n", ""));
        await agent.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "small-disk-agent");
        await api.WaitForAgentOnlineAsync("small-disk-agent");
        var stored = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await PutVariableAsync(api, $"BEFORE_{i}")).Status);
            stored.Add($"BEFORE_{i}");
        }
        Assert.Equal(HttpStatusCode.OK, (await HealthAsync(api)).Status);

        Assert.True(disk.Fill() > 0);
        // Every write either went through whole (there was room in a page) or was refused with the reason.
        JsonElement? refused = null;
        HttpResponseMessage? refusedResponse = null;
        for (var i = 0; i < 100 && refused is null; i++)
        {
            var (status, body, response) = await PutVariableAsync(api, $"DURING_{i}");
            if (status == HttpStatusCode.OK) stored.Add($"DURING_{i}");
            else
            {
                Assert.True(status == HttpStatusCode.ServiceUnavailable, body.GetRawText());
                (refused, refusedResponse) = (body, response);
            }
        }
        Assert.NotNull(refused);
        Assert.Equal("The database cannot be written: the disk is full", refused.Value.GetProperty("title").GetString());
        Assert.Contains("INSTADEPLOY_DATA_DIR has no space left", refused.Value.GetProperty("detail").GetString());
        Assert.Equal("disk_full", refused.Value.GetProperty("storage_failure").GetString());
        Assert.Equal("5", refusedResponse!.Headers.RetryAfter?.ToString());

        // The group-committed job insert meets it too, the same way.
        using (var command = await api.PostJsonAsync("/agents/small-disk-agent/commands", new { type = "CLEAN_UP" }))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, command.StatusCode);
            Assert.Equal("disk_full", (await command.ReadJsonAsync()).GetProperty("storage_failure").GetString());
        }
        // Reads go on; /health says why it is unhealthy.
        Assert.Equal(stored.Order(StringComparer.Ordinal), await VariableNamesAsync(api));
        var (healthStatus, health) = await HealthAsync(api);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, healthStatus);
        Assert.Equal("Unhealthy", health.GetProperty("status").GetString());
        var storage = health.GetProperty("checks").GetProperty("storage");
        Assert.Equal("disk_full", storage.GetProperty("data").GetProperty("storage_failure").GetString());
        Assert.Contains("INSTADEPLOY_DATA_DIR", storage.GetProperty("description").GetString());

        disk.Free();
        await Eventually.TrueAsync(async () => (await HealthAsync(api)).Status == HttpStatusCode.OK, TimeSpan.FromSeconds(40), "/health to recover");
        Assert.Equal(HttpStatusCode.OK, (await PutVariableAsync(api, "AFTER")).Status);
        stored.Add("AFTER");
        var job = await api.WaitForJobAsync((await (await api.PostJsonAsync("/agents/small-disk-agent/commands", new { type = "CLEAN_UP" })).ReadJsonAsync()).GetProperty("job_id").GetString()!);
        Assert.Equal("COMPLETED", job.GetProperty("status").GetString());
        Assert.Equal(stored.Order(StringComparer.Ordinal), await VariableNamesAsync(api));
    }

    [Fact]
    public async Task AWriteLockHeldLongerThanTheControlPlaneWaitsIsAnswered503AndTheWriteWorksOnceItIsReleased()
    {
        // SQLite's one write lock, held by another process.
        await using var controlPlane = new ControlPlaneFactory(new Dictionary<string, string?> { [ControlPlaneFactory.SqliteSetting] = "" });
        using var api = controlPlane.CreateApiClient();
        Assert.Equal(HttpStatusCode.OK, (await PutVariableAsync(api, "BEFORE")).Status);

        // Another process's transaction (a sqlite3 shell, say) holds the write lock for longer than the 30 s a write waits.
        await using (var other = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(controlPlane.DataDirectory, "instadeploy.db")};Pooling=False"))
        {
            await other.OpenAsync();
            await using var transaction = await other.BeginTransactionAsync(System.Data.IsolationLevel.Serializable);
            await using (var write = other.CreateCommand())
            {
                write.Transaction = (Microsoft.Data.Sqlite.SqliteTransaction)transaction;
                write.CommandText = """UPDATE "ProjectVariables" SET "Value" = "Value" WHERE 0""";
                await write.ExecuteNonQueryAsync();
            }
            var (status, body, _) = await PutVariableAsync(api, "DURING");
            Assert.True(status == HttpStatusCode.ServiceUnavailable, body.GetRawText());
            Assert.Equal("locked", body.GetProperty("storage_failure").GetString());
            Assert.Contains("held the database's write lock", body.GetProperty("detail").GetString());
            var (healthStatus, health) = await HealthAsync(api);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, healthStatus);
            Assert.Equal("locked", health.GetProperty("checks").GetProperty("storage").GetProperty("data").GetProperty("storage_failure").GetString());
            await transaction.RollbackAsync();
        }
        Assert.Equal(HttpStatusCode.OK, (await PutVariableAsync(api, "AFTER")).Status);
        await Eventually.TrueAsync(async () => (await HealthAsync(api)).Status == HttpStatusCode.OK, TimeSpan.FromSeconds(40), "/health to recover");
        Assert.Equal(["AFTER", "BEFORE"], await VariableNamesAsync(api));
    }

    [Fact]
    public async Task SqliteErrorsOfAReadOnlyOrLockedDatabaseAreRecognised()
    {
        var folder = Directory.CreateTempSubdirectory("daytwo-classify-").FullName;
        var file = Path.Combine(folder, "x.db");
        await using (var create = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={file};Pooling=False"))
        {
            await create.OpenAsync();
            await using var table = create.CreateCommand();
            table.CommandText = "CREATE TABLE t (x INTEGER)";
            await table.ExecuteNonQueryAsync();
        }
        await using var readOnly = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={file};Mode=ReadOnly;Pooling=False");
        await readOnly.OpenAsync();
        await using var insert = readOnly.CreateCommand();
        insert.CommandText = "INSERT INTO t VALUES (1)";
        var e = await Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() => insert.ExecuteNonQueryAsync());
        Assert.Equal("read_only", ControlPlane.Infrastructure.Storage.StorageFailure.Classify(new InvalidOperationException("wrapped", e))?.Kind);
        Assert.Equal("disk_full", ControlPlane.Infrastructure.Storage.StorageFailure.Classify(new IOException("No space left on device : '/data/x'", 28))?.Kind);
        Assert.Null(ControlPlane.Infrastructure.Storage.StorageFailure.Classify(new InvalidOperationException("a bug")));
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(folder, recursive: true);
    }
}
