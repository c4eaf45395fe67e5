use orm_migrate::prelude::*;

struct CreatePostsTable;

impl Migration for CreatePostsTable {
    fn up(&self, _schema: &mut Schema) -> Result<()> {
        Ok(())
    }

    fn down(&self, _schema: &mut Schema) -> Result<()> {
        Ok(())
    }
}

fn main() {}
