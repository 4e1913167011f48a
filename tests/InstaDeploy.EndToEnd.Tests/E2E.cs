namespace InstaDeploy.EndToEnd.Tests;

/// <summary>Names of what these tests create on the shared Docker engine.</summary>
internal static class E2E
{
    /// <summary>This test run's own suffix: two runs on one engine (two checkouts, or CI beside a session) never
    /// touch each other's compose projects.</summary>
    public static readonly string Run = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3));

    /// <summary>A project name unique to this run: <c>e2e-{name}-{run}</c>.</summary>
    public static string Project(string name) => $"e2e-{name}-{Run}";
}
