using System.Text.RegularExpressions;

namespace InstaDeploy.Testing;

/// <summary>
/// The compose files that try to give a container access to its host, one per category, several spellings each, kept
/// in tests/compose-policy/attacks/ so they can be run again by hand. Every service named attack-* must be refused by
/// name; volumes, secrets and configs named attack-* too.
/// </summary>
public static partial class PolicyAttackFiles
{
    public sealed record AttackFile(string Name, string Category, string Yaml, IReadOnlyList<string> Attacks, bool ControlPlaneSees)
    {
        public override string ToString() => Name;
    }

    public static string Folder => Path.Combine(DockerCli.RepositoryRoot(), "tests", "compose-policy");

    public static IReadOnlyList<AttackFile> All() =>
        [.. Directory.GetFiles(Path.Combine(Folder, "attacks"), "*.yml").Order(StringComparer.Ordinal).Select(Load)];

    public static AttackFile Named(string name) => All().Single(f => f.Name == name);

    /// <summary>xUnit member data: every attack file by name.</summary>
    public static IEnumerable<object[]> Names() => All().Select(f => new object[] { f.Name });

    public static string Ordinary(string name) => File.ReadAllText(Path.Combine(Folder, "ordinary", name));

    private static AttackFile Load(string path)
    {
        var yaml = File.ReadAllText(path);
        var category = CategoryLine().Match(yaml).Groups[1].Value.Trim();
        var attacks = AttackName().Matches(yaml).Select(m => m.Groups[1].Value).Distinct().ToList();
        return new AttackFile(Path.GetFileNameWithoutExtension(path), category, yaml, attacks, !yaml.Contains("# control-plane: cannot see", StringComparison.Ordinal));
    }

    [GeneratedRegex(@"^# category: (.+)$", RegexOptions.Multiline)]
    private static partial Regex CategoryLine();

    [GeneratedRegex(@"^\s+(attack-[a-z0-9-]+):", RegexOptions.Multiline)]
    private static partial Regex AttackName();
}
