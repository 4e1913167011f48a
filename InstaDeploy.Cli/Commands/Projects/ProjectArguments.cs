using System.CommandLine;

namespace InstaDeploy.Cli.Commands.Projects;

internal static class ProjectArguments
{
    public static Argument<string> Project() => new("project") { Description = "The project (compose project) name" };

    public static Option<string?> Agent(string description = "The agent, when the project is deployed on several") =>
        new("--agent", "-a") { Description = description, HelpName = "id" };

    public static Option<string?> Selector(string description) =>
        new("--selector", "-l") { Description = description + " (role=web, 'region in (eu,us)', !draining…)", HelpName = "selector" };
}
