using InstaDeploy.ControlPlane.Jobs;
using InstaDeploy.ControlPlane.Jobs.Delivery;

namespace InstaDeploy.ControlPlane.Deployments;

public static class DeploymentsExtensions
{
    /// <summary>Placements and revisions kept in step with their jobs, the deploy command's variables, and the STATUS that
    /// compares a placement with what the engine runs whenever that is uncertain.</summary>
    public static IServiceCollection AddDeployments(this IServiceCollection services)
    {
        services.AddSingleton<VariableProtector>();
        services.AddSingleton<ProjectVariableStore>();
        services.AddSingleton<DeployPolicy>();
        services.AddSingleton<DeployService>();
        services.AddSingleton<DeploymentQueries>();
        services.AddSingleton<IJobLifecycleHook, DeploymentBookkeeping>();
        services.AddSingleton<ICommandWriter, DeployCommandWriter>();
        services.AddHostedService<Reconciler>();
        return services;
    }
}
