using InstaDeploy.ControlPlane.Deployments;
using InstaDeploy.ControlPlane.Infrastructure;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Data.Sqlite;

namespace InstaDeploy.ControlPlane.Backups;

/// <summary>How many encrypted values a database holds, and how many of them a key ring decrypts.</summary>
/// <param name="Total">Secret variable values plus revisions' variable snapshots.</param>
/// <param name="Readable">Those the key ring decrypted.</param>
public sealed record SecretsCheck(int Total, int Readable)
{
    public bool AllReadable => Readable == Total;
}

/// <summary>
/// Decrypts every secret a backup holds with a given key ring, without changing either, so a backup and its key ring are
/// known to restore together before anything is restored. Uses the control plane's own Data Protection set-up
/// (<see cref="ControlPlaneExtensions.AddControlPlane"/>), with key generation off: checking must not add a key.
/// </summary>
public static class BackupSecrets
{
    public static async Task<SecretsCheck> CheckAsync(string databaseFile, string keyRingFolder, CancellationToken cancellationToken) =>
        await CheckAsync(await ReadAsync(databaseFile, cancellationToken), keyRingFolder);

    /// <summary>Decrypts <paramref name="payloads"/> (as a store read them from a backup) with the key ring.</summary>
    public static async Task<SecretsCheck> CheckAsync(IReadOnlyList<(string Value, bool Snapshot)> payloads, string keyRingFolder)
    {
        if (payloads.Count == 0) return new SecretsCheck(0, 0);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, Args = [] });
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["INSTADEPLOY_KEY_RING_DIR"] = keyRingFolder,
            // Reading the options validates them, and the agent token is none of a backup's business.
            ["INSTADEPLOY_SHARED_AGENT_TOKEN"] = "false",
        });
        builder.AddControlPlane();
        builder.Services.PostConfigure<KeyManagementOptions>(keys => keys.AutoGenerateKeys = false);
        await using var app = builder.Build();
        var protector = app.Services.GetRequiredService<VariableProtector>();

        var readable = 0;
        foreach (var (value, snapshot) in payloads)
        {
            try
            {
                if (snapshot) protector.UnprotectSnapshot(value);
                else protector.UnprotectValue(value);
                readable++;
            }
            catch (System.Security.Cryptography.CryptographicException)
            {
                // not readable with this key ring: counted, and the caller says what that means
            }
        }
        return new SecretsCheck(payloads.Count, readable);
    }

    /// <summary>The encrypted values of a database file, read with plain SQL so a backup of an older schema reads too.</summary>
    public static async Task<List<(string Value, bool Snapshot)>> ReadAsync(string databaseFile, CancellationToken cancellationToken)
    {
        await using var connection = DatabaseBackup.Open(databaseFile, SqliteOpenMode.ReadOnly);
        await connection.OpenAsync(cancellationToken);
        var tables = await DatabaseBackup.TablesAsync(connection, cancellationToken);
        var payloads = new List<(string, bool)>();
        await using var command = connection.CreateCommand();
        if (tables.Contains("ProjectVariables"))
        {
            command.CommandText = "SELECT Value FROM ProjectVariables WHERE Secret = 1";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken)) payloads.Add((reader.GetString(0), false));
        }
        if (tables.Contains("Revisions"))
        {
            command.CommandText = "SELECT VariablesProtected FROM Revisions WHERE VariablesProtected IS NOT NULL";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken)) payloads.Add((reader.GetString(0), true));
        }
        return payloads;
    }
}
