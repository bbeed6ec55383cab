-- After a batch that counted something down, the projector deletes the counts that came to
-- zero. These partial indexes hold only such rows (none, between batches), so finding them
-- never scans the count tables, which hold hundreds of thousands of rows at national volumes.
create index decision_counts_at_zero on decision_counts ((1)) where decisions = 0;
create index decision_counts_by_region_at_zero on decision_counts_by_region ((1))
    where decisions = 0;
create index signal_counts_at_zero on signal_counts ((1)) where cases = 0;
