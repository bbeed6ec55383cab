//! The Merkle tree over the global order, hashed as RFC 6962 / RFC 9162 say: a leaf is
//! SHA-256(0x00 || leaf data), an inner node SHA-256(0x01 || left || right), and a tree of
//! n leaves splits at the largest power of two below n. Inclusion and consistency proofs
//! and their verification follow RFC 9162 §2.1.3 and §2.1.4.
//!
//! Written here rather than taken from a crate: the sealer extends the tree from a compact
//! frontier kept with each checkpoint (at most 64 hashes), never holding the leaves, and
//! the crates found (ct-merkle, rs_merkle) build proofs from a tree held in memory. The
//! tests check the RFC's algorithms against the test vectors of the certificate
//! transparency reference implementation.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// The root of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(data);
    hasher.finalize().into()
}

pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([1u8]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The roots of the perfect subtrees that make up a tree of `size` leaves, largest (and
/// leftmost) first: one per bit set in `size`. Enough to add leaves and to give the root.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frontier {
    size: u64,
    nodes: Vec<Hash>,
}

impl Frontier {
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn push(&mut self, leaf: Hash) {
        let mut carried = leaf;
        let mut size = self.size;
        // As in binary addition: each subtree of equal size to the left merges with it.
        while size & 1 == 1 {
            let left = self.nodes.pop().expect("a node for every bit set");
            carried = node_hash(&left, &carried);
            size >>= 1;
        }
        self.nodes.push(carried);
        self.size += 1;
    }

    /// The tree's root: the subtrees folded from the right.
    pub fn root(&self) -> Hash {
        let mut nodes = self.nodes.iter().rev();
        let Some(last) = nodes.next() else {
            return empty_root();
        };
        nodes.fold(*last, |right, left| node_hash(left, &right))
    }

    /// The aligned leaf ranges `[start, end)` of the subtrees, in the order of `nodes`.
    pub fn ranges(&self) -> Vec<(u64, u64)> {
        let mut ranges = Vec::with_capacity(self.nodes.len());
        let mut start = 0;
        for bit in (0..64).rev() {
            let width = 1u64 << bit;
            if self.size & width != 0 {
                ranges.push((start, start + width));
                start += width;
            }
        }
        ranges
    }

    pub fn nodes(&self) -> &[Hash] {
        &self.nodes
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.nodes.concat()
    }

    /// A frontier as `to_bytes` wrote it, for a tree of `size` leaves.
    pub fn from_bytes(size: u64, bytes: &[u8]) -> Option<Frontier> {
        if bytes.len() != 32 * size.count_ones() as usize {
            return None;
        }
        let nodes = bytes
            .chunks_exact(32)
            .map(|chunk| chunk.try_into().expect("32 bytes"))
            .collect();
        Some(Frontier { size, nodes })
    }
}

/// The root of the tree over `leaves` (RFC 9162's MTH, leaves already hashed).
pub fn root_of(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let split = largest_power_of_two_below(n);
            node_hash(&root_of(&leaves[..split]), &root_of(&leaves[split..]))
        }
    }
}

/// The largest power of two smaller than `n` (n > 1).
fn largest_power_of_two_below(n: usize) -> usize {
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// The audit path of leaf `index` in the tree over `leaves` (RFC 9162 §2.1.3.1).
pub fn inclusion_path(leaves: &[Hash], index: usize) -> Vec<Hash> {
    let n = leaves.len();
    assert!(index < n, "leaf {index} is not in a tree of {n}");
    if n == 1 {
        return Vec::new();
    }
    let split = largest_power_of_two_below(n);
    let (mut path, sibling) = if index < split {
        (
            inclusion_path(&leaves[..split], index),
            root_of(&leaves[split..]),
        )
    } else {
        (
            inclusion_path(&leaves[split..], index - split),
            root_of(&leaves[..split]),
        )
    };
    path.push(sibling);
    path
}

/// The proof that the tree over `leaves[..old_size]` is a prefix of the tree over
/// `leaves` (RFC 9162 §2.1.4.1).
pub fn consistency_proof(leaves: &[Hash], old_size: usize) -> Vec<Hash> {
    assert!(old_size <= leaves.len());
    if old_size == 0 || old_size == leaves.len() {
        return Vec::new();
    }
    subproof(old_size, leaves, true)
}

fn subproof(m: usize, leaves: &[Hash], whole_old_tree: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if whole_old_tree {
            Vec::new()
        } else {
            vec![root_of(leaves)]
        };
    }
    let k = largest_power_of_two_below(n);
    if m <= k {
        let mut proof = subproof(m, &leaves[..k], whole_old_tree);
        proof.push(root_of(&leaves[k..]));
        proof
    } else {
        let mut proof = subproof(m - k, &leaves[k..], false);
        proof.push(root_of(&leaves[..k]));
        proof
    }
}

/// Whether `path` proves `leaf` at `index` in the tree of `size` leaves with `root`
/// (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, path: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && r == *root
}

/// Whether `proof` shows the tree of `new_size` leaves with `new_root` extends the tree of
/// `old_size` leaves with `old_root` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    old_size: u64,
    old_root: &Hash,
    new_size: u64,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    if old_size == 0 {
        return proof.is_empty();
    }
    if proof.is_empty() {
        return false;
    }
    // Step 2: when old_size is a power of two, the old root starts the path.
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    fr == *old_root && sr == *new_root && sn == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The leaves of the certificate transparency reference tests (merkle_tree_test.cc).
    fn reference_leaves() -> Vec<Hash> {
        [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|data| leaf_hash(&hex::decode(data).unwrap()))
        .collect()
    }

    /// The roots of the first 1 to 8 reference leaves.
    const REFERENCE_ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    #[test]
    fn roots_match_the_reference_vectors_both_ways() {
        let leaves = reference_leaves();
        let mut frontier = Frontier::default();
        assert_eq!(
            hex::encode(frontier.root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        for (n, expected) in REFERENCE_ROOTS.iter().enumerate() {
            frontier.push(leaves[n]);
            assert_eq!(
                hex::encode(root_of(&leaves[..=n])),
                *expected,
                "size {}",
                n + 1
            );
            assert_eq!(
                hex::encode(frontier.root()),
                *expected,
                "frontier {}",
                n + 1
            );
        }
    }

    /// Reference inclusion path: leaf 0 of 8.
    #[test]
    fn inclusion_path_matches_the_reference_vector() {
        let path: Vec<String> = inclusion_path(&reference_leaves(), 0)
            .iter()
            .map(hex::encode)
            .collect();
        assert_eq!(
            path,
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ]
        );
    }

    /// Reference consistency proof: from 6 to 8 leaves.
    #[test]
    fn consistency_proof_matches_the_reference_vector() {
        let proof: Vec<String> = consistency_proof(&reference_leaves(), 6)
            .iter()
            .map(hex::encode)
            .collect();
        assert_eq!(
            proof,
            [
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ]
        );
    }

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n as u32).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn every_inclusion_proof_verifies_and_no_altered_one_does() {
        for n in 1..=40 {
            let leaves = leaves(n);
            let root = root_of(&leaves);
            for index in 0..n {
                let path = inclusion_path(&leaves, index);
                let (i, size) = (index as u64, n as u64);
                assert!(verify_inclusion(&leaves[index], i, size, &path, &root));
                assert!(!verify_inclusion(&leaf_hash(b"x"), i, size, &path, &root));
                assert!(!verify_inclusion(&leaves[index], size, size, &path, &root));
                if let Some(first) = path.first() {
                    let mut altered = path.clone();
                    altered[0] = node_hash(first, first);
                    assert!(!verify_inclusion(&leaves[index], i, size, &altered, &root));
                }
            }
        }
    }

    #[test]
    fn every_consistency_proof_verifies_and_no_altered_one_does() {
        let all = leaves(40);
        for n in 1..=all.len() {
            let new_root = root_of(&all[..n]);
            for m in 1..=n {
                let old_root = root_of(&all[..m]);
                let proof = consistency_proof(&all[..n], m);
                let (m, n) = (m as u64, n as u64);
                assert!(
                    verify_consistency(m, &old_root, n, &new_root, &proof),
                    "{m} {n}"
                );
                let other_root = leaf_hash(b"another history");
                assert!(!verify_consistency(m, &other_root, n, &new_root, &proof));
                if m < n {
                    assert!(!verify_consistency(m, &old_root, n, &other_root, &proof));
                }
            }
        }
    }

    #[test]
    fn a_frontier_gives_the_root_of_every_size_and_survives_storing() {
        let all = leaves(70);
        let mut frontier = Frontier::default();
        for (n, leaf) in all.iter().enumerate() {
            frontier.push(*leaf);
            assert_eq!(frontier.root(), root_of(&all[..=n]));
            let stored = Frontier::from_bytes(frontier.size(), &frontier.to_bytes()).unwrap();
            assert_eq!(stored, frontier);
            for ((start, end), node) in frontier.ranges().iter().zip(frontier.nodes()) {
                assert_eq!(*node, root_of(&all[*start as usize..*end as usize]));
            }
        }
    }
}
