//! `GET /tilgjengelighet`: the accessibility statement (tilgjengelighetserklæring), open
//! to everyone, as forskrift om universell utforming av IKT-løsninger asks of every
//! Norwegian public web page.

use actix_web::{web, HttpResponse};
use maud::html;

use super::dashboard::report_year;
use super::error::PageError;
use super::layout::{self, SignedIn};
use super::session::Person;
use crate::AppState;

/// Open to everyone; someone signed in gets the site's menu with it.
pub async fn statement(
    person: Option<Person>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let content = html! {
        h1 { "Tilgjengelighetserklæring" }
        p {
            "Denne erklæringen gjelder nettsidene til " (layout::SITE) ": innloggingen, "
            "oversikten og årsrapporten. Sidene skal oppfylle kravene i forskrift om "
            "universell utforming av IKT-løsninger, det vil si WCAG 2.1 på nivå A og AA."
        }
        h2 { "Slik er sidene laget" }
        ul {
            li { "Språket er oppgitt som bokmål, og overskriftene kommer i rekkefølge." }
            li { "Alle skjemafelt har ledetekst, og alt kan brukes med tastatur. Elementet som har fokus, er tydelig markert." }
            li { "Tabellene har overskriftsceller for rader og kolonner." }
            li { "Hver figur har en tittel, en beskrivelse og en tabell ved siden av som sier det samme med tall. Farge er aldri det eneste som bærer mening." }
            li { "Teksten har god kontrast mot bakgrunnen, og sidene tilpasser seg skjermbredden når de forstørres." }
            li { "Sidene virker uten JavaScript, og årsrapporten har et eget oppsett for utskrift på A4." }
        }
        h2 { "Slik er sidene testet" }
        p {
            "Hver endring testes automatisk i Chromium med axe-core mot reglene for WCAG 2.1 A og AA "
            "(innlogging, oversikt, filtrering, årsrapport og denne siden), uten brudd. "
            "Automatiske tester finner ikke alle feil, så tilbakemeldinger er velkomne."
        }
        h2 { "Kjente avvik" }
        p {
            "Figurene i årsrapporten er tegnet som bilder (SVG). Innholdet deres står i tabellen ved siden av. "
            "Tall som ikke publiseres av personvernhensyn, vises som kolon (:), slik Statistisk sentralbyrå gjør."
        }
        h2 { "Gi tilbakemelding" }
        p {
            "Finner du noe som ikke virker for deg, si fra til registerets forvaltning, så retter vi det. "
            "Du kan også klage til Tilsynet for universell utforming av IKT (Digitaliseringsdirektoratet), "
            "der den offisielle erklæringen for virksomheten publiseres."
        }
        p { a href="/" { "Til oversikten" } }
    };
    let signed_in = match &person {
        Some(person) => Some(SignedIn {
            csrf: &person.csrf,
            report_year: report_year(&state.registry, &person.actor).await?,
        }),
        None => None,
    };
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(layout::page(
            "Tilgjengelighetserklæring",
            signed_in,
            content,
        )))
}
