//! The frame of every page: `lang="nb"`, a skip link, the site's header and navigation,
//! one `main`, and a footer that links the accessibility statement. maud escapes every
//! text; the only style is the stylesheet at `/static/app.css`, and no page runs a script.

use maud::{html, Markup, DOCTYPE};

/// The name of the service, as its pages say it.
pub const SITE: &str = "Unntaksregisteret";

/// What the header shows of the person signed in.
pub struct SignedIn<'a> {
    /// The CSRF token of the sign-out form.
    pub csrf: &'a str,
    /// The year the report link goes to.
    pub report_year: i32,
}

/// A whole page: `title` names it (in the tab and as its `h1` is the page's business).
pub fn page(title: &str, signed_in: Option<SignedIn>, content: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="nb" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " – " (SITE) }
                link rel="stylesheet" href="/static/app.css";
                link rel="icon" href="/static/favicon.svg" type="image/svg+xml";
            }
            body {
                a class="skip" href="#innhold" { "Gå til innholdet" }
                header class="site" {
                    p class="site-name" { a href="/" { (SITE) } }
                    @if let Some(signed_in) = &signed_in {
                        nav aria-label="Hovedmeny" {
                            ul {
                                li { a href="/" { "Oversikt" } }
                                li { a href={ "/rapport/" (signed_in.report_year) } { "Årsrapport " (signed_in.report_year) } }
                                li { a href="/tilgjengelighet" { "Tilgjengelighet" } }
                            }
                        }
                        form class="sign-out" method="post" action="/logg-ut" {
                            input type="hidden" name="csrf" value=(signed_in.csrf);
                            button type="submit" { "Logg ut" }
                        }
                    }
                }
                main id="innhold" tabindex="-1" { (content) }
                footer class="site" {
                    p {
                        (SITE) ": nasjonalt register over unntak fra beslutninger i Nye metoder og individuell tilgang. "
                        a href="/tilgjengelighet" { "Tilgjengelighetserklæring" }
                    }
                }
            }
        }
    }
    .into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_every_page_links_the_accessibility_statement() {
        let page = page("<script>alert(1)</script>", None, html! { p { "a & b" } });
        assert!(page.contains("&lt;script&gt;"), "{page}");
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("a &amp; b"));
        assert!(page.contains(r#"<html lang="nb">"#));
        assert!(page.contains(r#"href="/tilgjengelighet""#));
    }
}
