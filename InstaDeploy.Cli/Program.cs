using InstaDeploy.Cli;

return await CliApplication.RunAsync(args, CliEnvironment.FromProcess(), handleTermination: true);
