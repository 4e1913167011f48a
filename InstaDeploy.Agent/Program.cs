namespace InstaDeploy.Agent;

internal static class AgentProgram
{
    private static async Task<int> Main(string[] args)
    {
        var (host, problems) = AgentHost.Create(args);
        if (host is null)
        {
            Console.Error.WriteLine("InstaDeploy agent cannot start:");
            foreach (var problem in problems) Console.Error.WriteLine($"  - {problem}");
            return 2;
        }
        await host.RunAsync();
        return 0;
    }
}
