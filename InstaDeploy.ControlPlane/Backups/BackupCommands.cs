namespace InstaDeploy.ControlPlane.Backups;

/// <summary>
/// The operator's commands of the control-plane binary, run beside the service (same settings, same user):
/// <c>backup --to DIR [--keys-to DIR]</c> and <c>restore --from FILE [--keys-from DIR]</c>. Exit codes: 0 done,
/// 1 failed (nothing restored), 2 wrong usage or settings.
/// </summary>
public static class BackupCommands
{
    public const string Usage = """
        Usage:
          InstaDeploy.ControlPlane backup --to DIR [--keys-to KEYDIR]
              Writes a consistent copy of the database (taken while the control plane runs) to DIR as
              instadeploy-<UTC time>.db (SQLite), or instadeploy-<UTC time>.pgdump (pg_dump's custom format) when
              INSTADEPLOY_POSTGRES is set, owner-only. With --keys-to, also copies the key ring that decrypts the secret
              variables into KEYDIR, which must lie outside DIR: keep the two apart (different disks or hosts).
          InstaDeploy.ControlPlane restore --from FILE [--keys-from KEYDIR]
              Puts a backup into an empty data folder (INSTADEPLOY_DATA_DIR), or with INSTADEPLOY_POSTGRES into that
              empty database (pg_restore), and its key ring into INSTADEPLOY_KEY_RING_DIR, after checking the file and
              that the key ring decrypts every secret.
        Both read INSTADEPLOY_DATA_DIR, INSTADEPLOY_KEY_RING_DIR, INSTADEPLOY_POSTGRES and INSTADEPLOY_PG_BIN_DIR like
        the control plane: run them with its settings, as its user. See docs/DEPLOYMENT.md.
        """;

    /// <summary>Whether the arguments ask for one of these commands rather than the service.</summary>
    public static bool Handles(string[] args) => args is ["backup" or "restore" or "--help" or "help", ..];

    public static Task<int> RunAsync(string[] args) =>
        RunAsync(args, LoadConfiguration(), TimeProvider.System, Console.Out, Console.Error, CancellationToken.None);

    public static async Task<int> RunAsync(string[] args, IConfiguration configuration, TimeProvider time, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (args is ["--help" or "help", ..])
        {
            await output.WriteLineAsync(Usage);
            return 0;
        }
        var command = args[0];
        var (values, problem) = Parse(args[1..], command == "backup" ? ["--to", "--keys-to"] : ["--from", "--keys-from"]);
        var required = command == "backup" ? "--to" : "--from";
        if (problem is null && !values.ContainsKey(required)) problem = $"{command} needs {required}.";
        if (problem is not null)
        {
            await error.WriteLineAsync($"{command}: {problem}\n\n{Usage}");
            return 2;
        }

        var options = configuration.Get<ControlPlaneOptions>() ?? new ControlPlaneOptions();
        try
        {
            var run = new BackupRun(options, DatabaseBackup.StoreFor(options, configuration[Data.DataExtensions.PostgresSetting]), time, output, error);
            return command == "backup"
                ? await run.BackupAsync(values["--to"], values.GetValueOrDefault("--keys-to"), cancellationToken)
                : await run.RestoreAsync(values["--from"], values.GetValueOrDefault("--keys-from"), cancellationToken);
        }
        catch (BackupSetupException e)
        {
            await error.WriteLineAsync($"{command}: {e.Message}");
            return 2;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or Microsoft.Data.Sqlite.SqliteException or Npgsql.NpgsqlException)
        {
            await error.WriteLineAsync($"{command} failed: {e.Message}");
            return 1;
        }
    }

    /// <summary>The service's own configuration sources, so the commands see the data folder it uses.</summary>
    private static IConfiguration LoadConfiguration() => new ConfigurationBuilder()
        .SetBasePath(AppContext.BaseDirectory)
        .AddJsonFile("appsettings.json", optional: true)
        .AddEnvironmentVariables()
        .Build();

    private static (Dictionary<string, string> Values, string? Problem) Parse(string[] args, string[] known)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            var (name, value) = args[i].Split('=', 2) is [var n, var v] ? (n, v) : (args[i], i + 1 < args.Length ? args[++i] : null);
            if (!known.Contains(name)) return (values, $"unknown argument '{args[i]}'; it takes {string.Join(" and ", known)}.");
            if (string.IsNullOrWhiteSpace(value)) return (values, $"{name} needs a path.");
            if (!values.TryAdd(name, value)) return (values, $"{name} is given twice.");
        }
        return (values, null);
    }
}
