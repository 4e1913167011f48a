using System.Security.Cryptography;
using InstaDeploy.Contracts.Bundles;

// instadeploy-bundle-tool: keygen | pack | sign | verify. Exit codes: 0 done, 1 a check failed, 2 usage or bad input.
return await BundleTool.RunAsync(args);

internal static class BundleTool
{
    private const string Usage = """
        usage:
          instadeploy-bundle-tool keygen --private-key FILE --public-key FILE
          instadeploy-bundle-tool pack --from DIR --out FILE --kind agent --version V --architecture linux-amd64|linux-arm64 [--entry InstaDeploy.Agent]
          instadeploy-bundle-tool pack --from DIR --out FILE --kind plugin --name NAME --version V
          instadeploy-bundle-tool sign --private-key FILE BUNDLE            (writes BUNDLE.sig)
          instadeploy-bundle-tool verify --public-key FILE_OR_PEM BUNDLE [--signature FILE]
          instadeploy-bundle-tool manifest BUNDLE
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help") return Fail(Usage, 2);
        var (options, files) = Parse(args[1..]);
        try
        {
            return args[0] switch
            {
                "keygen" => Keygen(Required(options, "private-key"), Required(options, "public-key")),
                "pack" => await PackAsync(options),
                "sign" => Sign(Required(options, "private-key"), Single(files)),
                "verify" => Verify(Required(options, "public-key"), Single(files), options.GetValueOrDefault("signature")),
                "manifest" => await ManifestAsync(Single(files)),
                _ => Fail($"unknown command '{args[0]}'\n{Usage}", 2),
            };
        }
        catch (UsageException e)
        {
            return Fail($"{e.Message}\n{Usage}", 2);
        }
        catch (Exception e) when (e is BundleException or IOException or UnauthorizedAccessException or CryptographicException)
        {
            return Fail(e.Message, 2);
        }
    }

    private static int Keygen(string privatePath, string publicPath)
    {
        if (File.Exists(privatePath)) return Fail($"{privatePath} exists; it is not overwritten (a lost key cannot be got back)", 2);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var file = new StreamWriter(new FileStream(privatePath, options))) file.Write(key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(publicPath, key.ExportSubjectPublicKeyInfoPem() + "\n");
        Console.WriteLine($"private key: {privatePath} (owner-only; keep it on this machine, never on the control plane or an agent)");
        Console.WriteLine($"public key:  {publicPath} (fingerprint {BundleSignature.Fingerprint(key)}): give it to the control plane (INSTADEPLOY_RELEASE_PUBLIC_KEYS) and to every agent (AGENT_UPDATE_PUBLIC_KEY)");
        return 0;
    }

    private static async Task<int> PackAsync(Dictionary<string, string> options)
    {
        var kind = Required(options, "kind");
        var manifest = new BundleManifest
        {
            Kind = kind,
            Name = kind == BundleManifest.KindAgent ? "InstaDeploy.Agent" : Required(options, "name"),
            Version = Required(options, "version"),
            Architecture = kind == BundleManifest.KindAgent ? Required(options, "architecture") : BundleManifest.AnyArchitecture,
            Entry = kind == BundleManifest.KindAgent ? options.GetValueOrDefault("entry", "InstaDeploy.Agent") : null,
        };
        if (manifest.Problem() is { } problem) return Fail(problem, 2);
        var from = Required(options, "from");
        if (!Directory.Exists(from)) return Fail($"--from {from} is not a folder", 2);
        if (manifest.Entry is { } entry && !File.Exists(Path.Combine(from, entry))) return Fail($"{from} has no {entry} (the entry the manifest names)", 2);
        if (kind == BundleManifest.KindPlugin && !File.Exists(Path.Combine(from, manifest.Name + ".dll")))
            return Fail($"{from} has no {manifest.Name}.dll: a plugin folder holds <Name>.dll and its dependencies", 2);
        var output = Required(options, "out");
        await using (var file = File.Create(output)) await BundleArchive.PackAsync(from, manifest, file);
        Console.WriteLine($"{output}: {manifest.Kind} {manifest.Name} {manifest.Version} {manifest.Architecture}, {new FileInfo(output).Length} bytes");
        return 0;
    }

    private static int Sign(string privatePath, string bundle)
    {
        using var key = ECDsa.Create();
        key.ImportFromPem(File.ReadAllText(privatePath));
        byte[] hash;
        using (var file = File.OpenRead(bundle)) hash = BundleSignature.Hash(file);
        var signature = BundleSignature.Sign(key, hash);
        File.WriteAllText(bundle + ".sig", signature + "\n");
        Console.WriteLine($"{bundle}.sig: sha256 {Convert.ToHexStringLower(hash)}, key {BundleSignature.Fingerprint(key)}");
        return 0;
    }

    private static int Verify(string publicKey, string bundle, string? signaturePath)
    {
        var keys = BundleSignature.LoadPublicKeys(publicKey);
        byte[] hash;
        using (var file = File.OpenRead(bundle)) hash = BundleSignature.Hash(file);
        var signature = File.ReadAllBytes(signaturePath ?? bundle + ".sig");
        if (!BundleSignature.Verify(keys, hash, signature)) return Fail($"{bundle}: the signature does not verify with {(keys.Count == 1 ? "the key" : $"any of the {keys.Count} keys")} given", 1);
        Console.WriteLine($"{bundle}: signature good (sha256 {Convert.ToHexStringLower(hash)})");
        return 0;
    }

    private static async Task<int> ManifestAsync(string bundle)
    {
        await using var file = File.OpenRead(bundle);
        var manifest = await BundleArchive.ReadManifestAsync(file);
        Console.WriteLine(System.Text.Encoding.UTF8.GetString(manifest.ToJson()));
        return 0;
    }

    private static (Dictionary<string, string> Options, List<string> Files) Parse(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        var files = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal)) files.Add(args[i]);
            else if (i + 1 >= args.Length) throw new UsageException($"{args[i]} needs a value");
            else options[args[i][2..]] = args[++i];
        }
        return (options, files);
    }

    private static string Required(Dictionary<string, string> options, string name) =>
        options.TryGetValue(name, out var value) && value.Length > 0 ? value : throw new UsageException($"--{name} is required");

    private static string Single(List<string> files) => files.Count == 1 ? files[0] : throw new UsageException("name exactly one bundle file");

    private static int Fail(string message, int code)
    {
        Console.Error.WriteLine(message);
        return code;
    }

    private sealed class UsageException(string message) : Exception(message);
}
