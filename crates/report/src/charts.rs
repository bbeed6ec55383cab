//! Charts as server-rendered SVG (maud escapes every label). Each has a `<title>` and a
//! `<desc>`, axis labels with units, and is drawn so that colour is never the only thing
//! that tells series apart (line patterns and labels do too). The report puts a table
//! beside each chart that says the same in figures.

use maud::{html, Markup};

use crate::format;
use crate::Chart;

const WIDTH: f64 = 640.0;
const LEFT: f64 = 190.0;
const RIGHT: f64 = 30.0;
const ROW: f64 = 26.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 46.0;
/// Line patterns for series, so that print in black and white tells them apart.
const DASHES: [&str; 6] = ["", "6 3", "2 3", "8 3 2 3", "1 2", "10 4"];
const COLOURS: [&str; 6] = [
    "#1f4e79", "#9c2f2f", "#2e6b30", "#6b4c9a", "#8a5a00", "#333333",
];

/// One bar: its label, the share, and the share's 95 % interval (all None when withheld).
pub struct Bar {
    pub label: String,
    pub share: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// The SVG around a chart's body; `id` makes its title's and description's ids unique in
/// the page.
fn frame(id: &str, title: &str, description: &str, height: f64, body: Markup) -> String {
    html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (WIDTH) " " (height) }
            role="img" aria-labelledby={ (id) "-title " (id) "-desc" } class="chart" {
            title id={ (id) "-title" } { (title) }
            desc id={ (id) "-desc" } { (description) }
            (body)
        }
    }
    .into_string()
}

fn x_of_share(share: f64) -> f64 {
    LEFT + share.clamp(0.0, 1.0) * (WIDTH - LEFT - RIGHT)
}

/// The widest a bar's label line may be, in characters: what fits left of the bars at the
/// labels' font size (12 px, about 6.6 px a character on average, with room to spare).
const LABEL_CHARACTERS: usize = 26;
/// The distance between a wrapped label's lines.
const LINE: f64 = 14.0;

/// A label broken at spaces into lines of at most [`LABEL_CHARACTERS`] characters (a
/// longer word is cut), so that a long name such as "Nasjonalt (Helfo og
/// Helsedirektoratet)" stays whole and within the chart.
pub fn wrap_label(label: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in label.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        while word.len() > LABEL_CHARACTERS {
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
            lines.push(word.drain(..LABEL_CHARACTERS).collect());
        }
        let word: String = word.into_iter().collect();
        let fits = current.chars().count() + 1 + word.chars().count() <= LABEL_CHARACTERS;
        if current.is_empty() {
            current = word;
        } else if fits {
            current.push(' ');
            current.push_str(&word);
        } else {
            lines.push(std::mem::replace(&mut current, word));
        }
    }
    if !current.is_empty() || lines.is_empty() {
        lines.push(current);
    }
    lines
}

/// Horizontal bars of shares from 0 to 100 %, with interval whiskers. A bar's row grows
/// with its label's lines.
pub fn bars_with_intervals(
    id: &str,
    title: &str,
    description: &str,
    axis: &str,
    bars: &[Bar],
) -> Chart {
    let labels: Vec<Vec<String>> = bars.iter().map(|b| wrap_label(&b.label)).collect();
    let row_height = |lines: usize| ROW + LINE * lines.saturating_sub(1) as f64;
    let mut tops = Vec::with_capacity(bars.len());
    let mut axis_y = TOP;
    for lines in &labels {
        tops.push(axis_y);
        axis_y += row_height(lines.len());
    }
    let height = axis_y + BOTTOM;
    let body = html! {
        @for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
            line x1=(x_of_share(tick)) x2=(x_of_share(tick)) y1=(TOP - 6.0) y2=(axis_y)
                stroke="#bbbbbb" stroke-width="1" {}
            text x=(x_of_share(tick)) y=(axis_y + 16.0) text-anchor="middle" font-size="12" {
                (format::percent(tick))
            }
        }
        text x=(x_of_share(0.5)) y=(axis_y + 36.0) text-anchor="middle" font-size="12" { (axis) }
        @for ((bar, lines), top) in bars.iter().zip(&labels).zip(&tops) {
            @let row = row_height(lines.len());
            @let y = top + (row - ROW) / 2.0;
            text x=(LEFT - 8.0) y=(top + ROW * 0.62) text-anchor="end" font-size="12" {
                @for (index, line) in lines.iter().enumerate() {
                    tspan x=(LEFT - 8.0) dy=(if index == 0 { 0.0 } else { LINE }) { (line) }
                }
            }
            @if let Some(share) = bar.share {
                rect x=(LEFT) y=(y + 5.0) width=(x_of_share(share) - LEFT) height=(ROW - 10.0)
                    fill="#7ea6cf" {}
                @if let (Some(lower), Some(upper)) = (bar.lower, bar.upper) {
                    line x1=(x_of_share(lower)) x2=(x_of_share(upper)) y1=(y + ROW / 2.0)
                        y2=(y + ROW / 2.0) stroke="#111111" stroke-width="1.5" {}
                    line x1=(x_of_share(lower)) x2=(x_of_share(lower)) y1=(y + 7.0)
                        y2=(y + ROW - 7.0) stroke="#111111" stroke-width="1.5" {}
                    line x1=(x_of_share(upper)) x2=(x_of_share(upper)) y1=(y + 7.0)
                        y2=(y + ROW - 7.0) stroke="#111111" stroke-width="1.5" {}
                }
            } @else {
                text x=(LEFT + 6.0) y=(y + ROW * 0.62) font-size="12" { "ikke publisert (:)" }
            }
        }
    };
    Chart {
        title: title.to_string(),
        description: description.to_string(),
        svg: frame(id, title, description, height, body),
    }
}

/// Ticks for an axis of counts from 0 to `max`: every multiple of a round step (1, 2 or 5
/// times a power of ten) giving at most five intervals.
pub fn count_ticks(max: u64) -> Vec<u64> {
    let max = max.max(1);
    let mut magnitude = 1u64;
    let step = loop {
        if let Some(step) = [1, 2, 5]
            .into_iter()
            .map(|m| m * magnitude)
            .find(|step| max.div_ceil(*step) <= 5)
        {
            break step;
        }
        magnitude *= 10;
    };
    (0..=max / step).map(|k| k * step).collect()
}

/// Columns of counts (applications by quarter).
pub fn columns(
    id: &str,
    title: &str,
    description: &str,
    axis: &str,
    columns: &[(String, Option<u64>)],
) -> Chart {
    let height = 260.0;
    let plot_height = height - TOP - BOTTOM;
    let left = 60.0;
    let max = columns.iter().filter_map(|c| c.1).max().unwrap_or(1).max(1) as f64;
    let slot = (WIDTH - left - RIGHT) / columns.len().max(1) as f64;
    let y_of = |value: f64| TOP + plot_height * (1.0 - value / max);
    let body = html! {
        line x1=(left) x2=(WIDTH - RIGHT) y1=(y_of(0.0)) y2=(y_of(0.0)) stroke="#555555" {}
        text x=(left - 6.0) y=(y_of(max) + 4.0) text-anchor="end" font-size="12" {
            (format::count(max as u64))
        }
        text x=(left - 6.0) y=(y_of(0.0)) text-anchor="end" font-size="12" { "0" }
        text x=(WIDTH / 2.0) y=(height - 8.0) text-anchor="middle" font-size="12" { (axis) }
        @for (index, (label, value)) in columns.iter().enumerate() {
            @let x = left + slot * index as f64;
            @if let Some(value) = value {
                rect x=(x + slot * 0.15) y=(y_of(*value as f64)) width=(slot * 0.7)
                    height=(y_of(0.0) - y_of(*value as f64)) fill="#7ea6cf" {}
            }
            text x=(x + slot / 2.0) y=(y_of(0.0) + 16.0) text-anchor="middle" font-size="12" {
                (label)
            }
        }
    };
    Chart {
        title: title.to_string(),
        description: description.to_string(),
        svg: frame(id, title, description, height, body),
    }
}

/// Step curves of the share still waiting against days, one per series, told apart by
/// line pattern and a legend.
pub fn step_curves(
    id: &str,
    title: &str,
    description: &str,
    series: &[(String, Vec<(f64, f64)>)],
    max_days: f64,
) -> Chart {
    let height = 300.0 + ROW * series.len() as f64 / 2.0;
    let (left, plot_bottom) = (60.0, 260.0);
    let x_of = |day: f64| left + (day.min(max_days) / max_days) * (WIDTH - left - RIGHT);
    let y_of = |share: f64| TOP + (1.0 - share) * (plot_bottom - TOP);
    let path = |steps: &[(f64, f64)]| {
        let mut d = format!("M {} {}", x_of(0.0), y_of(1.0));
        let mut level = 1.0;
        for (day, still) in steps {
            d.push_str(&format!(" H {:.1} V {:.1}", x_of(*day), y_of(*still)));
            level = *still;
        }
        d.push_str(&format!(" H {:.1} V {:.1}", x_of(max_days), y_of(level)));
        d
    };
    let body = html! {
        @for tick in [0.0, 0.5, 1.0] {
            line x1=(left) x2=(WIDTH - RIGHT) y1=(y_of(tick)) y2=(y_of(tick)) stroke="#dddddd" {}
            text x=(left - 6.0) y=(y_of(tick) + 4.0) text-anchor="end" font-size="12" {
                (format::percent(tick))
            }
        }
        @for day in [0.0, max_days / 2.0, max_days] {
            text x=(x_of(day)) y=(plot_bottom + 16.0) text-anchor="middle" font-size="12" {
                (format::decimal(day, 0))
            }
        }
        text x=(WIDTH / 2.0) y=(plot_bottom + 34.0) text-anchor="middle" font-size="12" {
            "Dager fra søknad mottatt"
        }
        @for (index, (label, steps)) in series.iter().enumerate() {
            path d=(path(steps)) fill="none" stroke=(COLOURS[index % 6]) stroke-width="2"
                stroke-dasharray=(DASHES[index % 6]) {}
            @let legend_y = plot_bottom + 52.0 + ROW * (index / 2) as f64 / 1.2;
            @let legend_x = left + (index % 2) as f64 * 280.0;
            line x1=(legend_x) x2=(legend_x + 36.0) y1=(legend_y - 4.0) y2=(legend_y - 4.0)
                stroke=(COLOURS[index % 6]) stroke-width="2" stroke-dasharray=(DASHES[index % 6]) {}
            text x=(legend_x + 42.0) y=(legend_y) font-size="12" { (label) }
        }
    };
    Chart {
        title: title.to_string(),
        description: description.to_string(),
        svg: frame(id, title, description, height, body),
    }
}

/// One unit of a funnel plot.
pub struct FunnelUnit {
    pub label: String,
    pub decided: u64,
    pub rate: f64,
    pub limits_95: (f64, f64),
    pub limits_998: (f64, f64),
}

/// A funnel plot: each unit's rate against its number of decisions, with the target and
/// the 95 % and 99.8 % limits (drawn through the units' own limits, so they are the ones
/// the signals use, exact or overdispersed).
pub fn funnel(
    id: &str,
    title: &str,
    description: &str,
    target: f64,
    units: &[FunnelUnit],
) -> Chart {
    let height = 320.0;
    let (left, plot_bottom) = (60.0, 270.0);
    let max_n = units.iter().map(|u| u.decided).max().unwrap_or(1).max(1) as f64;
    let x_of = |n: f64| left + (n / max_n) * (WIDTH - left - RIGHT);
    let y_of = |share: f64| TOP + (1.0 - share.clamp(0.0, 1.0)) * (plot_bottom - TOP);
    let mut sorted: Vec<&FunnelUnit> = units.iter().collect();
    sorted.sort_by_key(|u| u.decided);
    let limit_line = |pick: &dyn Fn(&FunnelUnit) -> f64| {
        sorted
            .iter()
            .enumerate()
            .map(|(i, u)| {
                let command = if i == 0 { "M" } else { "L" };
                format!(
                    "{command} {:.1} {:.1}",
                    x_of(u.decided as f64),
                    y_of(pick(u))
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let body = html! {
        @for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
            line x1=(left) x2=(WIDTH - RIGHT) y1=(y_of(tick)) y2=(y_of(tick)) stroke="#eeeeee" {}
            text x=(left - 6.0) y=(y_of(tick) + 4.0) text-anchor="end" font-size="12" {
                (format::percent(tick))
            }
        }
        line x1=(left) x2=(WIDTH - RIGHT) y1=(y_of(target)) y2=(y_of(target))
            stroke="#111111" stroke-width="1.5" {}
        path d=(limit_line(&|u| u.limits_95.0)) fill="none" stroke="#555555" stroke-dasharray="6 3" {}
        path d=(limit_line(&|u| u.limits_95.1)) fill="none" stroke="#555555" stroke-dasharray="6 3" {}
        path d=(limit_line(&|u| u.limits_998.0)) fill="none" stroke="#111111" stroke-dasharray="2 3" {}
        path d=(limit_line(&|u| u.limits_998.1)) fill="none" stroke="#111111" stroke-dasharray="2 3" {}
        @for unit in units {
            @let outside = unit.rate < unit.limits_998.0 || unit.rate > unit.limits_998.1;
            @if outside {
                rect x=(x_of(unit.decided as f64) - 5.0) y=(y_of(unit.rate) - 5.0) width="10"
                    height="10" fill="#9c2f2f" { title { (unit.label) ": utenfor 99,8 %-grensen" } }
            } @else {
                circle cx=(x_of(unit.decided as f64)) cy=(y_of(unit.rate)) r="4" fill="#1f4e79" {
                    title { (unit.label) }
                }
            }
        }
        line x1=(left) x2=(WIDTH - RIGHT) y1=(plot_bottom) y2=(plot_bottom) stroke="#555555" {}
        @for tick in count_ticks(max_n as u64) {
            line class="x-tick" x1=(x_of(tick as f64)) x2=(x_of(tick as f64)) y1=(plot_bottom)
                y2=(plot_bottom + 5.0) stroke="#555555" {}
            text class="x-tick-label" x=(x_of(tick as f64)) y=(plot_bottom + 18.0)
                text-anchor="middle" font-size="12" { (format::count(tick)) }
        }
        text x=(WIDTH / 2.0) y=(plot_bottom + 38.0) text-anchor="middle" font-size="12" {
            "Antall vedtak"
        }
        text x="14" y=(TOP + 100.0) font-size="12" transform={ "rotate(-90 14 " (TOP + 100.0) ")" }
            text-anchor="middle" { "Andel innvilget" }
    };
    Chart {
        title: title.to_string(),
        description: description.to_string(),
        svg: frame(id, title, description, height, body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts of every `<tspan>` of a label in the SVG.
    fn tspans(svg: &str) -> Vec<String> {
        svg.split("<tspan")
            .skip(1)
            .map(|part| {
                let text = &part[part.find('>').unwrap() + 1..];
                text[..text.find("</tspan>").unwrap()].to_string()
            })
            .collect()
    }

    fn view_height(svg: &str) -> f64 {
        let view_box = &svg[svg.find("viewBox=\"").unwrap() + 9..];
        let view_box = &view_box[..view_box.find('"').unwrap()];
        view_box.split(' ').nth(3).unwrap().parse().unwrap()
    }

    #[test]
    fn a_long_bar_label_is_shown_whole_on_lines_that_fit_left_of_the_bars() {
        let label = "Nasjonalt (Helfo og Helsedirektoratet)";
        let bars = [
            Bar {
                label: label.into(),
                share: Some(0.4),
                lower: Some(0.3),
                upper: Some(0.5),
            },
            Bar {
                label: "Helse Vest".into(),
                share: Some(0.6),
                lower: None,
                upper: None,
            },
        ];
        let chart = bars_with_intervals("b", "Innvilget", "Andel", "Andel innvilget", &bars);
        let lines = tspans(&chart.svg);
        // The first label takes two lines, the second one.
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[..2].join(" "), label);
        for line in &lines {
            // Right-aligned at LEFT - 8, so a line fits when it is narrower than that even
            // at a generous 7 px a character.
            assert!(line.chars().count() as f64 * 7.0 <= LEFT - 8.0, "{line}");
        }
        // The rows grew by one line: the axis labels still lie inside the view box.
        let height = view_height(&chart.svg);
        assert_eq!(height, TOP + 2.0 * ROW + LINE + BOTTOM);
        assert!(chart
            .svg
            .contains(&format!("y=\"{}\"", TOP + 2.0 * ROW + LINE + 36.0)));
    }

    #[test]
    fn labels_wrap_at_spaces_and_cut_only_words_too_long_for_a_line() {
        assert_eq!(wrap_label("Helse Sør-Øst"), vec!["Helse Sør-Øst"]);
        assert_eq!(
            wrap_label("Nasjonalt (Helfo og Helsedirektoratet)"),
            vec!["Nasjonalt (Helfo og", "Helsedirektoratet)"]
        );
        let long = "a".repeat(30);
        assert_eq!(
            wrap_label(&format!("x {long}")),
            vec!["x".to_string(), "a".repeat(26), "aaaa".into()]
        );
        assert_eq!(wrap_label(""), vec![String::new()]);
    }

    #[test]
    fn count_ticks_are_round_and_at_most_six() {
        assert_eq!(count_ticks(137), vec![0, 50, 100]);
        assert_eq!(count_ticks(4), vec![0, 1, 2, 3, 4]);
        assert_eq!(count_ticks(10), vec![0, 2, 4, 6, 8, 10]);
        assert_eq!(count_ticks(0), vec![0, 1]);
        assert_eq!(count_ticks(12_345), vec![0, 5000, 10_000]);
    }

    #[test]
    fn the_funnel_plot_has_ticks_and_labels_for_the_number_of_decisions() {
        let unit = |decided, rate| FunnelUnit {
            label: format!("HF {decided}"),
            decided,
            rate,
            limits_95: (0.4, 0.8),
            limits_998: (0.3, 0.9),
        };
        let chart = funnel(
            "f",
            "Trakt",
            "Trakt",
            0.6,
            &[unit(40, 0.5), unit(180, 0.65)],
        );
        let ticks = chart.svg.matches("class=\"x-tick\"").count();
        assert_eq!(ticks, 4, "0, 50, 100 and 150 decisions");
        for label in ["0", "50", "100", "150"] {
            assert!(
                chart
                    .svg
                    .contains(&format!("class=\"x-tick-label\" x=\"{}\"", {
                        let n: f64 = label.parse().unwrap();
                        60.0 + n / 180.0 * (WIDTH - 60.0 - RIGHT)
                    })),
                "tick {label}: {}",
                chart.svg
            );
            assert!(chart.svg.contains(&format!(">{label}</text>")), "{label}");
        }
        assert!(chart.svg.contains("Antall vedtak"));
    }
}
