// A stacked bar chart drawn by ECharts (bundled, canvas renderer: no inline styles or external
// fetches, so the portal's strict CSP holds). The chart is an image with a text summary; the same
// numbers are in a table next to it for screen readers and keyboard users.
import { useEffect, useRef } from "react";
import * as echarts from "echarts/core";
import { BarChart as Bars } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([Bars, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

export interface StackedSeries {
  readonly name: string;
  readonly values: readonly number[];
}

const COLORS = ["#0f6cbd", "#c4314b", "#8764b8", "#107c10"];

export function StackedBarChart({ categories, series, label, unit }: { categories: readonly string[]; series: readonly StackedSeries[]; label: string; unit: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current) return;
    const chart = echarts.init(box.current, undefined, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      color: COLORS,
      legend: { top: 0 },
      grid: { left: 70, right: 20, top: 40, bottom: 30 },
      // richText tooltips are drawn on the canvas: HTML tooltips would need inline styles.
      tooltip: { trigger: "axis", renderMode: "richText" },
      xAxis: { type: "category", data: [...categories] },
      yAxis: { type: "value", name: unit },
      series: series.map((s) => ({ name: s.name, type: "bar", stack: "total", data: [...s.values] })),
    });
    const onResize = () => chart.resize();
    window.addEventListener("resize", onResize);
    return () => {
      window.removeEventListener("resize", onResize);
      chart.dispose();
    };
  }, [categories, series, unit]);
  return <div ref={box} className="chart" role="img" aria-label={label} />;
}
