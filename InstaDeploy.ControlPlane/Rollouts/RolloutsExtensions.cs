using InstaDeploy.ControlPlane.Jobs;

namespace InstaDeploy.ControlPlane.Rollouts;

public static class RolloutsExtensions
{
    /// <summary>Rollouts: their store, the job hook that claims and settles targets, and the engine that drives them.
    /// After <c>AddDeployments</c>: the hook reads the revision number the deployments' hook gives a deploy.</summary>
    public static IServiceCollection AddRollouts(this IServiceCollection services)
    {
        services.AddSingleton<RolloutSignals>();
        services.AddSingleton<RolloutStore>();
        services.AddSingleton<RolloutPlanner>();
        services.AddSingleton<RolloutSteering>();
        services.AddSingleton<RolloutCommands>();
        services.AddSingleton<RolloutStepper>();
        services.AddSingleton<IJobLifecycleHook, RolloutJobs>();
        services.AddSingleton<RolloutEngine>();
        services.AddHostedService(sp => sp.GetRequiredService<RolloutEngine>());
        return services;
    }
}
