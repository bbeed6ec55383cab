//! WHO ICD-10 blocks (2019 edition): the level between a three-character category and its
//! chapter, which research extracts generalise along (category, block, chapter). Written
//! out from the WHO tabular list; the finest blocks are used where WHO nests them
//! (M00-M03 within M00-M25, T20-T25 within T20-T32).

/// Every block as "first-last", in order; a category belongs to the block whose range
/// holds it.
const BLOCKS: &str = "\
A00-A09 A15-A19 A20-A28 A30-A49 A50-A64 A65-A69 A70-A74 A75-A79 A80-A89 A90-A99 \
B00-B09 B15-B19 B20-B24 B25-B34 B35-B49 B50-B64 B65-B83 B85-B89 B90-B94 B95-B98 B99-B99 \
C00-C14 C15-C26 C30-C39 C40-C41 C43-C44 C45-C49 C50-C50 C51-C58 C60-C63 C64-C68 C69-C72 \
C73-C75 C76-C80 C81-C96 C97-C97 D00-D09 D10-D36 D37-D48 \
D50-D53 D55-D59 D60-D64 D65-D69 D70-D77 D80-D89 \
E00-E07 E10-E14 E15-E16 E20-E35 E40-E46 E50-E64 E65-E68 E70-E90 \
F00-F09 F10-F19 F20-F29 F30-F39 F40-F48 F50-F59 F60-F69 F70-F79 F80-F89 F90-F98 F99-F99 \
G00-G09 G10-G14 G20-G26 G30-G32 G35-G37 G40-G47 G50-G59 G60-G64 G70-G73 G80-G83 G90-G99 \
H00-H06 H10-H13 H15-H22 H25-H28 H30-H36 H40-H42 H43-H45 H46-H48 H49-H52 H53-H54 H55-H59 \
H60-H62 H65-H75 H80-H83 H90-H95 \
I00-I02 I05-I09 I10-I15 I20-I25 I26-I28 I30-I52 I60-I69 I70-I79 I80-I89 I95-I99 \
J00-J06 J09-J18 J20-J22 J30-J39 J40-J47 J60-J70 J80-J84 J85-J86 J90-J94 J95-J99 \
K00-K14 K20-K31 K35-K38 K40-K46 K50-K52 K55-K64 K65-K67 K70-K77 K80-K87 K90-K93 \
L00-L08 L10-L14 L20-L30 L40-L45 L50-L54 L55-L59 L60-L75 L80-L99 \
M00-M03 M05-M14 M15-M19 M20-M25 M30-M36 M40-M43 M45-M49 M50-M54 M60-M63 M65-M68 M70-M79 \
M80-M85 M86-M90 M91-M94 M95-M99 \
N00-N08 N10-N16 N17-N19 N20-N23 N25-N29 N30-N39 N40-N51 N60-N64 N70-N77 N80-N98 N99-N99 \
O00-O08 O10-O16 O20-O29 O30-O48 O60-O75 O80-O84 O85-O92 O94-O99 \
P00-P04 P05-P08 P10-P15 P20-P29 P35-P39 P50-P61 P70-P74 P75-P78 P80-P83 P90-P96 \
Q00-Q07 Q10-Q18 Q20-Q28 Q30-Q34 Q35-Q37 Q38-Q45 Q50-Q56 Q60-Q64 Q65-Q79 Q80-Q89 Q90-Q99 \
R00-R09 R10-R19 R20-R23 R25-R29 R30-R39 R40-R46 R47-R49 R50-R69 R70-R79 R80-R82 R83-R89 \
R90-R94 R95-R99 \
S00-S09 S10-S19 S20-S29 S30-S39 S40-S49 S50-S59 S60-S69 S70-S79 S80-S89 S90-S99 \
T00-T07 T08-T14 T15-T19 T20-T25 T26-T28 T29-T32 T33-T35 T36-T50 T51-T65 T66-T78 T79-T79 \
T80-T88 T90-T98 \
V01-V99 W00-X59 X60-X84 X85-Y09 Y10-Y34 Y35-Y36 Y40-Y84 Y85-Y89 Y90-Y98 \
Z00-Z13 Z20-Z29 Z30-Z39 Z40-Z54 Z55-Z65 Z70-Z76 Z80-Z99 \
U00-U49 U82-U85";

/// The block of a three-character category ("C50" gives "C50-C50"); a category in a gap
/// between WHO's blocks (such as A10-A14, which WHO leaves unused) is its own block.
pub fn block_of(category: &str) -> String {
    // Blocks are in order within each letter run, so the first whose end is not before
    // the category is the only candidate (a binary search over the parsed list).
    let blocks = parsed_blocks();
    let at = blocks.partition_point(|(_, last, _)| *last < category);
    match blocks.get(at) {
        Some((first, _, block)) if *first <= category => block.to_string(),
        _ => category.to_string(),
    }
}

/// The blocks as (first, last, "first-last"), sorted by their last category (U last in
/// the list, which is why they are sorted here rather than taken in the list's order).
fn parsed_blocks() -> &'static [(&'static str, &'static str, &'static str)] {
    static PARSED: std::sync::OnceLock<Vec<(&str, &str, &str)>> = std::sync::OnceLock::new();
    PARSED.get_or_init(|| {
        let mut blocks: Vec<_> = BLOCKS
            .split_ascii_whitespace()
            .map(|block| {
                let (first, last) = block.split_once('-').expect("blocks are ranges");
                (first, last, block)
            })
            .collect();
        blocks.sort_by_key(|(_, last, _)| *last);
        blocks
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_fall_in_their_who_block() {
        for (category, block) in [
            ("C50", "C50-C50"),
            ("C34", "C30-C39"),
            ("E11", "E10-E14"),
            ("E66", "E65-E68"),
            ("G35", "G35-G37"),
            ("M05", "M05-M14"),
            ("A00", "A00-A09"),
            ("Z99", "Z80-Z99"),
            ("U07", "U00-U49"),
            ("U85", "U82-U85"),
            ("A12", "A12"),
            ("C98", "C98"),
        ] {
            assert_eq!(block_of(category), block, "{category}");
        }
    }

    #[test]
    fn blocks_are_in_order_and_do_not_overlap_within_a_letter_run() {
        let blocks: Vec<(&str, &str)> = BLOCKS
            .split_ascii_whitespace()
            .map(|b| b.split_once('-').expect("a range"))
            .collect();
        for (first, last) in &blocks {
            assert!(first <= last, "{first}-{last}");
        }
        // U comes last (chapter XXII); every other block follows the one before it.
        let ordered: Vec<_> = blocks.iter().filter(|(f, _)| !f.starts_with('U')).collect();
        for pair in ordered.windows(2) {
            assert!(pair[0].1 < pair[1].0, "{:?} then {:?}", pair[0], pair[1]);
        }
    }

    #[test]
    fn each_block_lies_within_one_chapter() {
        use crate::codes::Icd10Code;
        for block in BLOCKS.split_ascii_whitespace() {
            let (first, last) = block.split_once('-').expect("a range");
            let chapter = |c: &str| Icd10Code::parse(c).map(|code| code.chapter());
            assert!(chapter(first).is_ok(), "{block}");
            assert_eq!(chapter(first).ok(), chapter(last).ok(), "{block}");
        }
    }
}
