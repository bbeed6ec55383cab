//! Writing values into the pages' addresses.

/// A value for a URL's query: everything but unreserved characters and `/` percent-encoded.
pub fn query_value(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                encoded.push(byte as char)
            }
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_value_keeps_slashes_and_encodes_the_rest() {
        assert_eq!(query_value("/rapport/2025"), "/rapport/2025");
        assert_eq!(query_value("/?aar=2025&m=ø"), "/%3Faar%3D2025%26m%3D%C3%B8");
    }
}
