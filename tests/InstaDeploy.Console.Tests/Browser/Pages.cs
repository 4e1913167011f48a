using Microsoft.Playwright;

namespace InstaDeploy.Console.Tests.Browser;

/// <summary>What tests check on any console page.</summary>
internal static class Pages
{
    /// <summary>Every visible form control has a label (a &lt;label&gt;, aria-label or aria-labelledby): none is only a box.</summary>
    public static async Task AssertControlsLabelledAsync(IPage page)
    {
        var unlabelled = await page.EvaluateAsync<string[]>("""
            () => [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
              .filter(el => el.offsetParent !== null)
              .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby')
                            && !(el.tagName === 'BUTTON' && el.textContent.trim().length))
              .map(el => el.outerHTML.slice(0, 120))
            """);
        Assert.True(unlabelled.Length == 0, $"{page.Url}: controls without a label: {string.Join(" | ", unlabelled)}");
    }

    /// <summary>The log view's lines as (number, text), read by scrolling through the virtualized list.</summary>
    public static async Task<List<(long Seq, string Text)>> ReadLogAsync(IPage page, string logId)
    {
        var rows = await page.EvaluateAsync<string[][]>("""
            async (id) => {
              const log = document.getElementById(id);
              const seen = new Map();
              const pause = () => new Promise(r => setTimeout(r, 120));
              log.scrollTop = 0;
              await pause();
              for (let guard = 0; guard < 2000; guard++) {
                for (const row of log.querySelectorAll('.line[data-seq]'))
                  seen.set(row.dataset.seq, row.querySelector('.text').textContent);
                if (log.scrollTop + log.clientHeight >= log.scrollHeight - 2) break;
                log.scrollTop += Math.max(log.clientHeight - 40, 40);
                await pause();
              }
              return [...seen.entries()];
            }
            """, logId);
        return [.. rows.Select(r => (long.Parse(r[0], System.Globalization.CultureInfo.InvariantCulture), r[1])).OrderBy(r => r.Item1)];
    }
}
