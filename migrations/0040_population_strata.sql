-- Residents by year, county, age band and sex, from population imports that carry them:
-- the strata of the age- and sex-standardised application rates. A year imported as
-- county totals only has no rows here, and its rates are crude.
create table population_strata (
    year          integer not null,
    county_number text not null,
    age_band      text not null,
    sex           text not null,
    population    bigint not null check (population >= 0),
    primary key (year, county_number, age_band, sex)
);
