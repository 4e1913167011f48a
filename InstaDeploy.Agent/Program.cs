namespace InstaDeploy.Agent;

internal static class AgentProgram
{
    private static async Task<int> Main(string[] args)
    {
        // `InstaDeploy.Agent launch`: the launcher that runs the agent from its installation folder and switches versions.
        if (args.Length > 0 && args[0] == "launch") return await Updates.Launcher.RunAsync(args[1..]);

        var (host, problems) = AgentHost.Create(args);
        if (host is null)
        {
            Console.Error.WriteLine("InstaDeploy agent cannot start:");
            foreach (var problem in problems) Console.Error.WriteLine($"  - {problem}");
            return 2;
        }
        await host.RunAsync();
        return Environment.ExitCode; // AgentHome.RestartExitCode when stopping to be switched to an update
    }
}
