using InstaDeploy.ControlPlane.Jobs.Delivery;
using InstaDeploy.ControlPlane.Jobs.Output;
using InstaDeploy.ControlPlane.Jobs.Submission;

namespace InstaDeploy.ControlPlane.Jobs;

public static class JobsExtensions
{
    /// <summary>The job store, the one submission path, delivery to agents and live output.</summary>
    public static IServiceCollection AddJobs(this IServiceCollection services)
    {
        services.AddSingleton<JobReads>();
        services.AddSingleton<JobQueries>();
        services.AddSingleton<JobWriteBatcher>();
        services.AddSingleton<JobEvents>();
        services.AddSingleton<JobStore>();
        services.AddSingleton<JobOutputHub>();
        services.AddSingleton<JobOutputFollower>();
        services.AddHostedService<JobOutputWriter>();
        services.AddSingleton<JobDispatcher>();
        services.AddHostedService<DeliveryRetryService>();
        services.AddSingleton<AgentChooser>();
        services.AddSingleton<CommandSubmitter>();
        services.AddHostedService<JobTimeoutService>();
        services.AddSingleton<Retention.JobRetention>();
        services.AddHostedService<Retention.JobRetentionService>();
        services.AddSingleton<Counts.JobCounts>();
        services.AddSingleton<Counts.JobCountCompactor>();
        services.AddHostedService(s => s.GetRequiredService<Counts.JobCountCompactor>());
        return services;
    }
}
