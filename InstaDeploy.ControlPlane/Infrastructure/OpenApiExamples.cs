using System.Text.Json;
using System.Text.Json.Nodes;

namespace InstaDeploy.ControlPlane.Infrastructure;

internal static class OpenApiExamples
{
    /// <summary>Shows <paramref name="example"/> as the JSON request body example in the API reference.</summary>
    public static RouteHandlerBuilder WithRequestExample(this RouteHandlerBuilder builder, object example)
    {
        var node = JsonSerializer.SerializeToNode(example);
        return builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            if (operation.RequestBody?.Content is { } content && content.TryGetValue("application/json", out var media))
                media.Example = node?.DeepClone();
            return Task.CompletedTask;
        });
    }
}
