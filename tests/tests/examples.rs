//! The blog example's walk-through, checked on every backend.

use orm_tests::on_every_backend;

on_every_backend! {
    fn the_blog_example_runs_and_finds_what_it_should() {
        let summary = examples::blog::run(|_| {}).map_err(|e| orm_core::Error::other(e.to_string()))?;
        assert_eq!(summary.migrated.len(), 3);
        assert_eq!(
            summary.authors,
            vec![
                ("Ada".to_owned(), vec!["Engines".to_owned(), "Numbers".to_owned()], 2),
                ("Grace".to_owned(), vec!["Compilers".to_owned(), "Debugging".to_owned()], 2),
            ]
        );
        assert_eq!(summary.eager_queries, 4);
        assert_eq!((summary.total, summary.last_page), (4, 2));
        assert_eq!(summary.page_two, ["Numbers", "Engines"]);
        assert_eq!(summary.tagged_rust, ["Compilers", "Engines"]);
        assert!(summary.rolled_back);
        Ok(())
    }
}
