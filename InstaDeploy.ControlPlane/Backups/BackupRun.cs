namespace InstaDeploy.ControlPlane.Backups;

/// <summary>What <c>backup</c> and <c>restore</c> do, with the control plane's settings, on its store.</summary>
internal sealed class BackupRun(ControlPlaneOptions options, BackupStore store, TimeProvider time, TextWriter output, TextWriter error)
{
    public async Task<int> BackupAsync(string to, string? keysTo, CancellationToken cancellationToken)
    {
        if (await store.BackupProblemAsync(cancellationToken) is { } problem) return await RefuseAsync(2, $"backup: {problem}");
        if (keysTo is not null && (OwnerOnly.IsSameOrInside(keysTo, to) || OwnerOnly.IsSameOrInside(to, keysTo)))
            return await RefuseAsync(2, $"backup: --keys-to ({keysTo}) and --to ({to}) must not be the same folder or inside each other. Keep the key ring apart from the database backups: together they reveal every secret.");

        var backup = await DatabaseBackup.WriteToFolderAsync(store, to, time.GetUtcNow(), cancellationToken);
        await output.WriteLineAsync($"backup: database {store.Name} -> {backup.Path} ({Size(backup.Bytes)}, schema {backup.Schema ?? "none"}, {store.Checked})");
        await output.WriteLineAsync($"backup: rows: {string.Join(", ", backup.Rows.Select(r => $"{r.Key} {r.Value}"))}");
        if (keysTo is null)
        {
            await output.WriteLineAsync($"backup: the key ring ({options.KeyRingPath}) was not copied; back it up apart with --keys-to (secret variables cannot be read without it).");
            return 0;
        }

        var keys = await KeyRingBackup.CopyAsync(options.KeyRingPath, keysTo, cancellationToken);
        var secrets = await BackupSecrets.CheckAsync(await store.ReadSecretsAsync(backup.Path, cancellationToken), keysTo);
        await output.WriteLineAsync($"backup: key ring {options.KeyRingPath} -> {keysTo} ({keys} key(s)); it decrypts {secrets.Readable} of the {secrets.Total} secret value(s) in the backup");
        if (!secrets.AllReadable)
            return await RefuseAsync(1, $"backup: {secrets.Total - secrets.Readable} secret value(s) in the backup cannot be decrypted with the key ring at {options.KeyRingPath}: is INSTADEPLOY_KEY_RING_DIR the one the control plane uses? Without its keys those secrets must be set again after a restore.");
        return 0;
    }

    public async Task<int> RestoreAsync(string from, string? keysFrom, CancellationToken cancellationToken)
    {
        if (!File.Exists(from)) return await RefuseAsync(2, $"restore: there is no file {from}.");
        if (keysFrom is not null && !Directory.Exists(keysFrom)) return await RefuseAsync(2, $"restore: there is no folder {keysFrom} (--keys-from).");
        if (await store.RestoreProblemAsync(cancellationToken) is { } problem) return await RefuseAsync(2, $"restore: {problem}");

        var backup = await store.DescribeAsync(from, cancellationToken);
        var newer = DatabaseSchema.NewerThanThisBuild(backup.Migrations, store.KnownMigrations);
        if (newer.Count > 0)
            return await RefuseAsync(1, $"restore: {from} was made by a newer release of InstaDeploy (migrations this build does not know: {string.Join(", ", newer)}); restore it with that release.");
        var pending = store.KnownMigrations.Except(backup.Migrations, StringComparer.Ordinal).Count();
        await output.WriteLineAsync($"restore: {from}: {store.Checked}, schema {backup.Schema ?? "none"}"
            + (pending > 0 ? $" ({pending} migration(s) behind this build; the control plane applies them at start)" : " (this build's)"));
        await output.WriteLineAsync($"restore: rows: {string.Join(", ", backup.Rows.Select(r => $"{r.Key} {r.Value}"))}");

        var payloads = await store.ReadSecretsAsync(from, cancellationToken);
        if (keysFrom is null && payloads.Count > 0)
            return await RefuseAsync(2, $"restore: the backup holds {payloads.Count} encrypted secret value(s) and no --keys-from was given: give the key ring backup taken with it. (If the key ring is lost, {store.WithoutKeyRing}.)");
        if (keysFrom is not null)
        {
            var secrets = await BackupSecrets.CheckAsync(payloads, keysFrom);
            if (!secrets.AllReadable)
                return await RefuseAsync(1, $"restore: the key ring in {keysFrom} decrypts only {secrets.Readable} of the {secrets.Total} secret value(s) in the backup: it is older than the backup or another installation's. Give the key ring copied with (or after) this backup. Nothing was restored.");
            var existing = KeyRingBackup.KeyFiles(options.KeyRingPath).Select(Path.GetFileName)
                .Except(KeyRingBackup.KeyFiles(keysFrom).Select(Path.GetFileName)).ToList();
            if (existing.Count > 0)
                return await RefuseAsync(2, $"restore: the key ring folder {options.KeyRingPath} (INSTADEPLOY_KEY_RING_DIR) holds keys that are not in {keysFrom} ({string.Join(", ", existing)}): restore onto a fresh machine, or move them away first. Nothing was restored.");
            await output.WriteLineAsync($"restore: the key ring in {keysFrom} decrypts all {secrets.Total} secret value(s)");
        }

        OwnerOnly.CreateFolder(Path.GetDirectoryName(options.DatabasePath)!);
        if (keysFrom is not null)
        {
            var keys = await KeyRingBackup.CopyAsync(keysFrom, options.KeyRingPath, cancellationToken);
            await output.WriteLineAsync($"restore: key ring -> {options.KeyRingPath} ({keys} key(s))");
        }
        await store.RestoreAsync(from, cancellationToken);
        await output.WriteLineAsync($"restore: database -> {store.Name}");
        await output.WriteLineAsync("restore: done. Start the control plane; its agents reconnect by themselves.");
        return 0;
    }

    private async Task<int> RefuseAsync(int exitCode, string message)
    {
        await error.WriteLineAsync(message);
        return exitCode;
    }

    private static string Size(long bytes) => bytes switch
    {
        < 1024 * 1024 => FormattableString.Invariant($"{bytes / 1024.0:0.#} KiB"),
        < 1024L * 1024 * 1024 => FormattableString.Invariant($"{bytes / (1024.0 * 1024):0.#} MiB"),
        _ => FormattableString.Invariant($"{bytes / (1024.0 * 1024 * 1024):0.##} GiB"),
    };
}
